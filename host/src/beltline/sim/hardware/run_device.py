# Runs the belt unit's real application (firmware/app.py) on simulated hardware under
# MicroPython: a fake IMU filled from a recorded virtual wearer, a fake BLE stack with a
# central that connects, disconnects, writes control commands and asks for a logbook replay.
# Usage: run_device.py SAMPLES.bin SECONDS OUT.bin [key=value ...]
#   imu=lsm6dso|mpu6050  disconnect_at=S  disconnect_for=S  queue=N  commands=1
# Prints one JSON line; writes every notification the central received to OUT.bin
# (u16 length + bytes each).
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

import app
import board
import control
import gatt
import logbook
import lsm6dso
import mpu6050


class Clock:
    def __init__(self):
        self.now_ms = 0
        self.wakes = []

    async def sleep_ms(self, ms):
        wake = self.now_ms + ms
        self.wakes.append(wake)
        while self.now_ms < wake:
            await asyncio.sleep_ms(0)
        self.wakes.remove(wake)


def source_from(path):
    f = open(path, "rb")
    n = os.stat(path)[6] // 24
    buf = bytearray(24)

    def src(k):
        if k >= n:
            return None
        f.seek(24 * k)
        f.readinto(buf)
        return struct.unpack("<6f", buf)

    return src, n


class Central:
    """Writes every stream notification to the output file as it arrives; keeps only the
    ticks, to find the span a disconnect cost."""

    def __init__(self, path, h_stream):
        self.f = open(path, "wb")
        self.h_stream = h_stream
        self.newest = None  # highest first-tick seen
        self.gap = None  # (from, to) the first hole in the ticks, if any

    def __call__(self, now_ms, handle, payload):
        if handle != self.h_stream:
            return
        self.f.write(struct.pack("<H", len(payload)))
        self.f.write(payload)
        if len(payload) >= 10:
            tick = struct.unpack_from("<I", payload, 4)[0]
            if self.newest is not None and tick > self.newest + 64 and self.gap is None:
                self.gap = (self.newest, tick)
            if self.newest is None or tick > self.newest:
                self.newest = tick


async def drive(clock, ble, a, until_ms, opts, handles, central):
    dis_at = int(float(opts.get("disconnect_at", "-1")) * 1000)
    dis_for = int(float(opts.get("disconnect_for", "0")) * 1000)
    ble.central_connect(247)
    state = "up"
    asked = False
    sent_commands = False
    while clock.now_ms < until_ms:
        await asyncio.sleep_ms(0)
        await asyncio.sleep_ms(0)
        pending = [w for w in clock.wakes if w > clock.now_ms]
        nxt = min(pending) if pending else clock.now_ms + 1
        clock.now_ms = nxt
        if state == "up" and 0 <= dis_at <= clock.now_ms:
            ble.central_disconnect()
            state = "down"
        elif state == "down" and clock.now_ms >= dis_at + dis_for:
            ble.central_connect(247)
            state = "back"
        ble.central_tick(clock.now_ms)
        if opts.get("commands") == "1" and not sent_commands and clock.now_ms > 2000:
            sent_commands = True
            if "mount" in opts:  # what the host sends after its own calibration
                m = [float(x) for x in opts["mount"].split(",")]
                ble.central_write(handles, control.encode(control.SET_MOUNT, *m))
            ble.central_write(handles, control.encode(control.MODE, 1))
            ble.central_write(handles, control.encode(control.THRESHOLDS, 7.0, 6.0, 10.0))
            ble.central_write(handles, b"\x42\x00")  # garbage: counted, ignored
            ble.central_write(handles, control.encode(control.TIME_SYNC, 123456))
        # after a reconnect the central asks for the span it missed (from the packet ticks)
        if state == "back" and not asked and central.gap is not None:
            gap = central.gap
            ble.central_write(handles, control.encode(control.REPLAY, gap[0], gap[1]))
            asked = True
    a.running = False


def main():
    data, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    opts = dict(x.split("=", 1) for x in sys.argv[4:])
    clock = Clock()
    src, n = source_from(data)
    kind = opts.get("imu", "lsm6dso")
    if kind == "lsm6dso":
        machine.SIM.devices[lsm6dso.ADDRESS] = imu_models.Lsm6dso(clock, src)
    else:
        machine.SIM.devices[mpu6050.ADDRESS] = imu_models.Mpu6050(clock, src)
    bluetooth.BLE.QUEUE = int(opts.get("queue", "8"))
    for f in ("/tmp/beltline_sim_settings.json", "/tmp/beltline_sim_logbook.bin"):
        try:
            os.remove(f + opts.get("tag", ""))
        except OSError:
            pass
    i2c = machine.I2C(0)
    import main as device_main

    imu = device_main.find_imu(i2c)
    ble = bluetooth.BLE()
    periph = gatt.Peripheral(ble, firmware=app.FIRMWARE)
    bat = board.Battery(machine.ADC(machine.Pin(board.PIN_BATTERY)))
    motor = board.Motor(machine.PWM(machine.Pin(board.PIN_MOTOR)))
    log = logbook.Logbook("/tmp/beltline_sim_logbook.bin" + opts.get("tag", ""), slots=2048)
    a = app.App(imu, periph, bat, motor, machine.WDT(timeout=5000), log,
                "/tmp/beltline_sim_settings.json" + opts.get("tag", ""),
                sleep_ms=clock.sleep_ms)
    central = Central(out, periph.h_stream)
    ble.sink = central
    gc.collect()
    mem0 = gc.mem_free()

    async def run():
        drv = asyncio.create_task(drive(clock, ble, a, int(seconds * 1000), opts,
                                        periph.h_control, central))
        await a.main()
        await drv

    t0 = time.ticks_ms()
    asyncio.run(run())
    wall = time.ticks_diff(time.ticks_ms(), t0)
    central.f.close()
    loops = sorted(a.loop_us)
    gc.collect()
    print(json.dumps({
        "samples": a.samples, "packets": a.packets, "logged": a.logged,
        "replayed": a.replayed, "notify_enomem": periph.notify_enomem,
        "notify_stale": periph.notify_stale, "notify_errors": periph.notify_enomem
        + periph.notify_stale, "lost_in_stack_queue": ble.lost_in_queue,
        "alloc_bytes_per_sample": a.alloc_bytes / max(a.alloc_samples, 1),
        "mem_free_start": mem0, "mem_free_min": a.mem_free_min, "mem_free_end": gc.mem_free(),
        "mem_free_first": a.mem_series[0] if a.mem_series else 0,
        "mem_free_after_2min": a.mem_series[12] if len(a.mem_series) > 12 else 0,
        "motor_pulses": machine.SIM.pulses,
        "mem_free_last": a.mem_series[-1] if a.mem_series else 0,
        "loop_us_p50": loops[len(loops) // 2] if loops else 0,
        "loop_us_p99": loops[min(len(loops) - 1, len(loops) * 99 // 100)] if loops else 0,
        "polls": a.polls, "samples_per_poll": a.samples / max(1, a.polls),
        "imu": kind, "imu_overruns": imu.overruns, "commands": a.commands,
        "command_errors": a.command_errors, "mode": a.cfg["mode"],
        "drop_deg": a.cfg["drop_deg"], "wdt_feeds": machine.SIM.wdt_feeds,
        "logbook_corrupt": log.corrupt, "sim_seconds": clock.now_ms / 1000,
        "wall_ms": wall, "connects": periph.connects, "mtu": periph.mtu,
        "input_samples": n, "time_sync": list(a.time_sync),
        "status": list(struct.unpack(gatt.STATUS_FORMAT, ble.gatts_read(periph.h_status)))}))


main()
