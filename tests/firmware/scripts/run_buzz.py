# The BUZZ command (0x0D) in the real App (firmware/app.py) on a simulated clock: the real
# board.Motor over the fake machine.PWM, whose duty is observed at every poll. A flagged rep's
# BUZZ buzzes in training mode with haptics on, is ignored in tracking mode or with haptics
# off, is refused out of range or malformed; the sampler keeps sampling through the buzz.
# Usage: run_buzz.py DIR   -> key=value lines
import asyncio
import sys

import machine

import app
import board
import control
import logbook

DIR = sys.argv[1]


class Imu:  # the driver interface (imu_base.FifoImu)
    rate_hz = 104.0
    overruns = 0
    MAX_BATCH = 64
    FIFO_SAMPLES = 256

    def __init__(self):
        n = 8
        self.ax, self.ay, self.az = [0.3] * n, [0.1] * n, [9.8] * n
        self.gx, self.gy, self.gz = [0.01] * n, [-0.02] * n, [0.0] * n

    def drain(self):
        return 4


class Periph:
    def __init__(self):
        self.q = []
        self.mtu = 247
        self.mtu_changed = False
        self.ready = self.connected = self.secure = self.listening = True
        self.dropped = False
        self.notify_enomem = self.notify_stale = self.refused_unpaired = 0
        self.command_overflow = 0
        self.can_bond = None
        self.conn = 1
        self.ble = None

    def take_command(self):
        return self.q.pop(0) if self.q else None

    def notify(self, packet):
        return True

    def publish_status(self, values):
        pass

    def publish_battery(self, pct):
        pass


class Dog:
    def feed(self):
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


async def polls(a, clock, n, seen):
    """Run the tasks for ``n`` clock steps, recording the motor's duty at each."""
    for _ in range(n):
        await asyncio.sleep_ms(0)
        clock.advance()
        await asyncio.sleep_ms(0)
        seen.append(a.motor.pwm.duty_u16())


def on_runs(duty):
    """How many separate stretches the motor was on."""
    runs, prev = 0, 0
    for d in duty:
        if d and not prev:
            runs += 1
        prev = d
    return runs


async def scenario(a, clock, periph):
    out = {}
    cases = [("tracking", [control.encode(control.BUZZ, 2)]),
             ("training", [control.encode(control.MODE, 1), control.encode(control.BUZZ, 2)]),
             ("three", [control.encode(control.BUZZ, 3)]),
             ("zero", [bytes((control.BUZZ, 0))]),
             ("too_many", [bytes((control.BUZZ, control.BUZZ_MAX + 1))]),
             ("cut", [bytes((control.BUZZ,))]),
             ("haptics_off", [control.encode(control.HAPTICS, 0),
                              control.encode(control.BUZZ, 2)])]
    for name, cmds in cases:
        seen = []
        s0, e0 = a.samples, a.command_errors
        periph.q.extend(cmds)
        await polls(a, clock, 120, seen)
        out[name + "_on_runs"] = on_runs(seen)
        out[name + "_max_duty"] = max(seen)
        out[name + "_refused"] = a.command_errors - e0
        out[name + "_samples"] = a.samples - s0
        out[name + "_off_at_end"] = seen[-1] == 0
    out["saved_mode"] = a.cfg["mode"]
    out["buzzes"] = a.buzzes
    a.running = False
    for _ in range(4):
        clock.advance()
        await asyncio.sleep_ms(0)
    return out


def main():
    clock = Clock()
    periph = Periph()
    log = logbook.Logbook(DIR + "/buzz_logbook.bin", slots=64)
    motor = board.Motor(machine.PWM(machine.Pin(board.PIN_MOTOR)))
    a = app.App(Imu(), periph, Battery(), motor, Dog(), log, DIR + "/buzz_settings.json",
                sleep_ms=clock.sleep_ms)
    a.measure_alloc = 0
    res = {}

    async def run():
        t = asyncio.create_task(a.main())
        res.update(await scenario(a, clock, periph))
        await t

    asyncio.run(run())
    for k in sorted(res):
        print("%s=%s" % (k, res[k]))


main()
