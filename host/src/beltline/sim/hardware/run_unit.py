# The virtual belt unit: the firmware's own main.py/app.py/... under MicroPython on simulated
# hardware. The IMU (imu_models) answers its register map and fills its FIFO from a sample
# file (a virtual wearer, recorded at the IMU's output data rate), the radio is the emulated
# bluetooth module (a socket to a Bumble stack: beltline.sim.peer), and time is simulated:
# it runs at `speed` x real time (0: as fast as it goes), never jumping more than one wake-up
# at a time, so a loaded machine slows the unit down instead of overflowing its FIFO.
# Usage (working directory = the unit's flash):
#   run_unit.py HOST PORT SAMPLES.bin [speed=S] [imu=lsm6dso|mpu6050] [offset=N] [queue=N]
#               [slots=N] [pace=P] [boot_id=N]
# At speed S the firmware's wait for a central to pair (app.SECURE_WITHIN_S) is S times longer
# in unit time: a host's real seconds of pairing must not count S-fold against it.
# A {"speed": S} message from the radio side changes the pace (the harness walks at real
# time while a host connects, then fast; a walk recorded as fast as it runs, then a host's
# sync at a pace a Bluetooth link can follow); {"hold_ms": T} stops time at T ms until the next
# hold_ms message (the harness applies a fault there). Ends on a {"stop": 1} message from the
# radio side, or a watchdog reset (exit 3). Prints, and reports to the radio side, one JSON
# line of figures.
import asyncio
import gc
import json
import os
import struct
import sys
import time

import bluetooth
import imu_models
import machine

import main as unit_main

WATCHDOG_EXIT = 3


class Clock:
    """Simulated milliseconds; ``sleep_ms`` is what the firmware's tasks wait on."""

    def __init__(self):
        self.now_ms = 0
        self.wakes = []

    async def sleep_ms(self, ms):
        ev = asyncio.Event()
        self.wakes.append((self.now_ms + max(0, int(ms)), ev))
        await ev.wait()

    def next_wake(self):
        if not self.wakes:
            return self.now_ms + 1
        return min(w for w, _ in self.wakes)

    def advance(self, to):
        self.now_ms = to
        keep = []
        for w, ev in self.wakes:
            if w <= to:
                ev.set()
            else:
                keep.append((w, ev))
        self.wakes = keep


def source_from(path, offset):
    f = open(path, "rb")
    n = os.stat(path)[6] // 24
    buf = bytearray(24)

    def src(k):
        k += offset
        if k >= n:
            return None
        f.seek(24 * k)
        f.readinto(buf)
        return struct.unpack("<6f", buf)

    return src, n


async def drive(clock, a, speed, state):
    """The scheduler: the firmware's tasks run, then the stack's events are delivered, then
    time moves to the next wake-up (waiting in real time for it when paced). A {"speed": S}
    message from the radio side changes the pace from then on."""
    wall0 = time.ticks_ms()
    sim0 = clock.now_ms
    last_clock = -1000
    state["speed"] = speed
    while not state["stop"]:
        if state["speed"] != speed:
            speed = state["speed"]
            wall0 = time.ticks_ms()
            sim0 = clock.now_ms
        await asyncio.sleep_ms(0)
        await asyncio.sleep_ms(0)
        bluetooth.service(0)
        if state["speed"] != speed:  # the harness changed the pace: count from now
            speed = state["speed"]
            wall0 = time.ticks_ms()
            sim0 = clock.now_ms
        hold = state["hold_ms"]
        if hold is not None and clock.now_ms >= hold:
            # time stands still at a fault the harness applies (a drop): the link's end
            # reaches the firmware before it walks on, as on a board whose radio keeps pace
            if not state["held"]:
                state["held"] = True
                bluetooth.send_clock(clock.now_ms)
            bluetooth.service(20)
            wall0 = time.ticks_ms()
            sim0 = clock.now_ms
            continue
        state["held"] = False
        nxt = clock.next_wake()
        if hold is not None:
            nxt = min(nxt, hold)
        if speed > 0:
            wait = int((nxt - sim0) / speed) - time.ticks_diff(time.ticks_ms(), wall0)
            if wait > 0:
                if bluetooth.service(wait):
                    continue  # something arrived: let the firmware see it before time moves
            elif wait < -1000:  # far behind real time (a loaded machine): do not race
                wall0 = time.ticks_ms()
                sim0 = clock.now_ms
        clock.advance(nxt)
        if clock.now_ms - last_clock >= 100:
            last_clock = clock.now_ms
            bluetooth.send_clock(clock.now_ms)
        if machine.SIM.wdt_timeout and \
                clock.now_ms - machine.SIM.wdt_fed_ms > machine.SIM.wdt_timeout:
            state["watchdog"] = True
            break
    a.running = False
    clock.advance(clock.now_ms + 10_000)  # wake every task so that each sees the stop


def figures(a, clock, n, imu_kind, wall_ms, state):
    p = a.periph
    ble = p.ble
    loops = sorted(a.loop_us)
    gc.collect()
    return {
        "samples": a.samples, "packets": a.packets, "logged": a.logged,
        "replayed": a.replayed, "notify_enomem": p.notify_enomem,
        "notify_stale": p.notify_stale, "notify_errors": p.notify_enomem + p.notify_stale,
        "stack_enomem": ble.enomem, "stack_stale": ble.stale, "irq_errors": ble.irq_errors,
        "alloc_bytes_per_sample": a.alloc_bytes / max(a.alloc_samples, 1),
        "mem_free_min": a.mem_free_min, "mem_free_end": gc.mem_free(),
        "mem_free_first": a.mem_series[0] if a.mem_series else 0,
        "mem_free_after_2min": a.mem_series[12] if len(a.mem_series) > 12 else 0,
        "mem_free_last": a.mem_series[-1] if a.mem_series else 0,
        "motor_pulses": machine.SIM.pulses, "buzzes": a.buzzes, "pulse_ms": machine.SIM.pulse_ms,
        "loop_us_p50": loops[len(loops) // 2] if loops else 0,
        "loop_us_p99": loops[min(len(loops) - 1, len(loops) * 99 // 100)] if loops else 0,
        "polls": a.polls, "samples_per_poll": a.samples / max(1, a.polls),
        "imu": imu_kind, "imu_overruns": a.imu.overruns, "commands": a.commands,
        "command_errors": a.command_errors, "command_failures": a.command_failures,
        "refused": a.refused, "refused_unpaired": p.refused_unpaired,
        "refused_bonds": p.refused_bonds, "kicked": a.kicked, "bonds": len(p.bonds),
        "step_failures": a.step_failures, "cfg_refused": a.cfg_refused,
        "mode": a.cfg["mode"], "drop_deg": a.cfg["drop_deg"], "tilt_deg": a.cfg["tilt_deg"],
        "dwell_s": a.cfg["dwell_s"], "mount": a.cfg["mount"],
        "wdt_feeds": machine.SIM.wdt_feeds, "watchdog_reset": state["watchdog"],
        "logbook_corrupt": a.logbook.corrupt, "sim_seconds": clock.now_ms / 1000,
        "wall_ms": wall_ms, "connects": p.connects, "mtu": p.mtu, "input_samples": n,
        "time_sync": list(a.time_sync), "boot_id": a.boot_id,
        "pairing_windows": a.pairing_windows,
        "doze_slept_ms": a.doze.slept_ms, "doze_sleeps": a.doze.sleeps,
        "doze_windows": a.doze.windows,
        "auto": a.cfg["auto"], "stop_s": a.cfg["stop_s"], "recording": a.wear.recording,
        "auto_starts": a.wear.starts, "auto_stops": a.wear.stops,
        "motion_windows": a.wear.windows,
    }


def main():
    host, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    opts = dict(x.split("=", 1) for x in sys.argv[4:])
    speed = float(opts.get("speed", "1"))
    kind = opts.get("imu", "lsm6dso")
    clock = Clock()
    machine.SIM.clock = clock
    src, n = source_from(data, int(opts.get("offset", "0")))
    if kind == "lsm6dso":
        machine.SIM.devices[0x6A] = imu_models.Lsm6dso(clock, src)
    else:
        machine.SIM.devices[0x68] = imu_models.Mpu6050(clock, src)
    bluetooth.QUEUE = int(opts.get("queue", str(bluetooth.QUEUE)))
    # pace=P: walk at P x real time until the harness sends {"speed": S}
    state = {"stop": False, "watchdog": False, "speed": float(opts.get("pace", speed)),
             "hold_ms": None, "held": False}

    def on_sim(msg):
        if "button" in msg:  # pressed: the pin reads 0 (pull-up released: 1)
            machine.SIM.pins[unit_main.board.PIN_BUTTON] = 0 if msg["button"] else 1
        if msg.get("stop"):
            state["stop"] = True
        if "speed" in msg:
            state["speed"] = float(msg["speed"])
        if "hold_ms" in msg:  # stand still at this time (ms of this boot); < 0: never
            state["hold_ms"] = None if msg["hold_ms"] < 0 else int(msg["hold_ms"])
        if "battery_volts" in msg:
            machine.SIM.battery_volts = float(msg["battery_volts"])

    bluetooth.SIM_HANDLER = on_sim
    bluetooth.attach(host, port)
    # a host's pairing takes it real seconds, which are `speed` times as many unit seconds
    # here: the firmware's patience with a central that has not paired yet is scaled to match
    patience = unit_main.app.SECURE_WITHIN_S * (max(1.0, speed) if speed > 0 else 1000.0)
    def lightsleep(ms):
        # the board's light sleep: every task stands still while the unit's time passes (the
        # IMU fills its FIFO meanwhile); a time the harness holds at is not slept past
        to = clock.now_ms + max(0, int(ms))
        hold = state["hold_ms"]
        if hold is not None and clock.now_ms < hold < to:
            to = hold
        clock.advance(to)

    a = unit_main.build(sleep_ms=clock.sleep_ms, logbook_slots=int(opts.get("slots", "4096")),
                        secure_within_s=patience, lightsleep=lightsleep)
    if "boot_id" in opts:  # a reproducible boot (the same virtual walk synced twice)
        a.boot_id = int(opts["boot_id"])

    async def run():
        await asyncio.gather(a.main(), drive(clock, a, state["speed"], state))

    t0 = time.ticks_ms()
    asyncio.run(run())
    out = figures(a, clock, n, kind, time.ticks_diff(time.ticks_ms(), t0), state)
    print(json.dumps(out))
    bluetooth.report(out)
    if state["watchdog"]:
        sys.exit(WATCHDOG_EXIT)


main()
