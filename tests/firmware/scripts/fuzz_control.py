# Fuzz the belt unit's control path and settings loader inside one MicroPython process:
# the real App (firmware/app.py) with its sampler, control and status tasks on a simulated
# clock, a fake IMU and a stand-in for the GATT wrapper that queues whatever bytes we throw at
# it, as the BLE IRQ would. After every batch of cases the sampler must still be producing
# samples and feeding the watchdog. Then random settings files: config.load must keep only
# valid values, and an App built on each must run.
# Usage: fuzz_control.py CASES SEED DIR   -> key=value lines
import asyncio
import json
import math
import random
import struct
import sys

import app
import config
import control
import logbook

CASES = int(sys.argv[1])
random.seed(int(sys.argv[2]))
DIR = sys.argv[3]


class Imu:  # the driver interface (imu_base.FifoImu)
    rate_hz = 104.0
    overruns = 0
    MAX_BATCH = 64
    FIFO_SAMPLES = 256

    def __init__(self):
        n = 8
        self.ax = [0.3] * n
        self.ay = [0.1] * n
        self.az = [9.8] * n
        self.gx = [0.01] * n
        self.gy = [-0.02] * n
        self.gz = [0.0] * n

    def drain(self):
        return 4


class Periph:
    def __init__(self):
        self.q = []
        self.mtu = 247
        self.mtu_changed = False
        self.ready = True
        self.connected = True
        self.secure = True
        self.listening = True
        self.dropped = False
        self.notify_enomem = 0
        self.notify_stale = 0
        self.refused_unpaired = 0
        self.command_overflow = 0
        self.sent = 0
        self.can_bond = None
        self.conn = 1
        self.ble = None

    def take_command(self):
        return self.q.pop(0) if self.q else None

    def notify(self, packet):
        self.sent += 1
        return self.sent % 17 != 0  # now and then the stack is full

    def publish_status(self, values):
        self.status = values

    def publish_battery(self, pct):
        pass


class Dog:
    feeds = 0

    def feed(self):
        Dog.feeds += 1


class Motor:
    def pattern(self, n):
        pass

    def tick(self, ms):
        pass


class Battery:
    def percent(self):
        return 80


class Clock:
    def __init__(self):
        self.now = 0
        self.wakes = []

    async def sleep_ms(self, ms):
        ev = asyncio.Event()
        self.wakes.append((self.now + max(0, int(ms)), ev))
        await ev.wait()

    def advance(self):
        if not self.wakes:
            return
        t = min(w for w, _ in self.wakes)
        self.now = t
        keep = []
        for w, ev in self.wakes:
            if w <= t:
                ev.set()
            else:
                keep.append((w, ev))
        self.wakes = keep


SPECIAL = [float("nan"), float("inf"), -float("inf"), 1e30, -1e30, 0.0, -0.0, 1e-40, 3.0,
           12.0, 29.0, 29.5, 1.0, -1.0, 1.02, 0.999]


def mutated():
    """A command: random bytes, a real command with extreme values, or a real one cut."""
    r = random.random()
    cmd = random.randint(0, 11)
    if r < 0.3:
        return bytes(random.getrandbits(8) for _ in range(random.randint(0, 40)))
    if cmd == control.SET_MOUNT:
        v = [random.choice(SPECIAL) if random.random() < 0.3 else random.uniform(-1.1, 1.1)
             for _ in range(9)]
        if random.random() < 0.3:  # a real rotation now and then
            v = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        data = bytes((cmd,)) + struct.pack("<9f", *v)
    elif cmd == control.THRESHOLDS:
        v = [random.choice(SPECIAL) if random.random() < 0.5 else random.uniform(-50, 200)
             for _ in range(3)]
        data = bytes((cmd,)) + struct.pack("<3f", *v)
    elif cmd == control.REPLAY:
        data = bytes((cmd,)) + struct.pack("<II", random.getrandbits(32), random.getrandbits(32))
    elif cmd == control.TIME_SYNC:
        data = bytes((cmd,)) + struct.pack("<I", random.getrandbits(32))
    else:
        data = bytes((cmd,)) + bytes(random.getrandbits(8) for _ in range(random.randint(0, 3)))
    if random.random() < 0.1:
        data = data[:random.randint(0, len(data))]
    return data


def check_cfg(cfg):
    for k in config.DEFAULTS:
        if not config.valid(k, cfg[k]):
            return False
    return True


async def fuzz_commands(a, clock, periph, out):
    batches = 0
    last_samples = 0
    last_feeds = 0
    done = 0
    while done < CASES:
        for _ in range(25):  # as if the IRQ had queued them
            periph.q.append(mutated())
            done += 1
        for _ in range(2):  # let every task run for a poll
            await asyncio.sleep_ms(0)
            clock.advance()
            await asyncio.sleep_ms(0)
        batches += 1
        if batches % 50 == 0:
            if a.samples <= last_samples or Dog.feeds <= last_feeds:
                out["stalled_at"] = done
                break
            last_samples, last_feeds = a.samples, Dog.feeds
            if not check_cfg(a.cfg):
                out["bad_cfg_at"] = done
                break
    out["cases"] = done
    a.running = False
    for _ in range(4):
        clock.advance()
        await asyncio.sleep_ms(0)


def run_commands():
    out = {}
    clock = Clock()
    periph = Periph()
    log = logbook.Logbook(DIR + "/fuzz_logbook.bin", slots=64)
    a = app.App(Imu(), periph, Battery(), Motor(), Dog(), log, DIR + "/fuzz_settings.json",
                sleep_ms=clock.sleep_ms)
    a.measure_alloc = 0

    async def main():
        await asyncio.gather(a.main(), fuzz_commands(a, clock, periph, out))

    asyncio.run(main())
    print("command_cases=%d" % out["cases"])
    print("stalled=%s" % ("stalled_at" in out))
    print("bad_cfg=%s" % ("bad_cfg_at" in out))
    print("samples=%d" % a.samples)
    print("wdt_feeds=%d" % Dog.feeds)
    print("polls=%d" % a.polls)
    print("applied=%d" % a.commands)
    print("refused=%d" % a.command_errors)
    print("failures=%d" % a.command_failures)
    print("step_failures=%d" % a.step_failures)
    print("cfg_valid=%s" % check_cfg(a.cfg))
    saved, bad = config.load(DIR + "/fuzz_settings.json")
    print("saved_valid=%s" % (check_cfg(saved) and bad == 0))


def random_value():
    r = random.random()
    if r < 0.2:
        return random.choice(SPECIAL)
    if r < 0.35:
        return random.randint(-5, 5)
    if r < 0.45:
        return "x" * random.randint(0, 5)
    if r < 0.55:
        return None
    if r < 0.7:
        return [random.choice(SPECIAL + [0.0, 1.0]) for _ in range(random.randint(0, 10))]
    if r < 0.8:
        return {"a": 1}
    if r < 0.9:
        return True
    return random.uniform(-100, 100)


def settings_text():
    r = random.random()
    if r < 0.1:
        return bytes(random.getrandbits(8) for _ in range(random.randint(0, 60)))
    d = dict(config.DEFAULTS)
    for k in list(d):
        if random.random() < 0.5:
            d[k] = random_value()
    if random.random() < 0.1:
        d["extra"] = random_value()
    text = json.dumps(d)
    text = text.replace("NaN", random.choice(["NaN", "1e999", "-1e999", "null"]))
    if random.random() < 0.1:
        text = text[:random.randint(0, len(text))]
    if random.random() < 0.05:
        text = json.dumps(random_value())
    return text.encode()


def run_config(n):
    path = DIR + "/fuzz_cfg.json"
    ok = 0
    refused = 0
    kept = 0
    runs = 0
    for i in range(n):
        with open(path, "wb") as f:
            f.write(settings_text())
        cfg, bad = config.load(path)
        refused += bad
        if check_cfg(cfg):
            ok += 1
        if cfg["mode"] != config.DEFAULTS["mode"] or cfg["drop_deg"] != 6.5:
            kept += 1
        if i % 500 == 0:  # a unit booting on this file must sample
            runs += 1
            clock = Clock()
            log = logbook.Logbook(DIR + "/fuzz_logbook.bin", slots=64)
            a = app.App(Imu(), Periph(), Battery(), Motor(), Dog(), log, path,
                        sleep_ms=clock.sleep_ms)
            for _ in range(20):
                a.step()
            if a.samples != 80 or not all(math.isfinite(x) for x in a.stream.mount):
                print("boot_failed_at=%d" % i)
                return
            log.close()
    print("config_cases=%d" % n)
    print("config_valid=%d" % ok)
    print("config_refused_values=%d" % refused)
    print("config_kept_good=%d" % kept)
    print("config_boots=%d" % runs)


run_commands()
run_config(int(sys.argv[4]) if len(sys.argv) > 4 else 20000)
