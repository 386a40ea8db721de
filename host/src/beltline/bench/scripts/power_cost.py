# What the belt unit's CPU does per second, measured under MicroPython's unix port for the power
# model (``beltline bench power``). Runs with the firmware folder and this folder on
# MICROPYPATH. Prints one line of key=value pairs: for each, the fastest of all its passes
# (taken in turn with the others, 10 at a time, over the repetitions: the least disturbed by
# other load on a shared machine), in microseconds (*_us) and as a multiple of the yardstick
# (*_y):
#   yardstick_us          one Madgwick update (madgwick.py) compiled @micropython.native: the
#                         yardstick that turns this machine's times into the ESP32-S3's
#                         (calibrated against published board benchmarks in power.py). Its work
#                         is like the firmware's (boxed floats, no heap-allocated frame), so
#                         load on a shared machine slows both alike.
#   madgwick_us           one plain (bytecode) Madgwick update, for reference
#   stream_us             one Stream.sample at the LSM6DSO's 104 Hz, MTU 247 (filter, pelvis
#                         angles, batching, CRC of each finished packet)
#   raw_us                one Stream.sample_raw (a dozing unit's loop: batching and CRC, no
#                         filter; firmware/doze.py)
#   drain_us_per_sample   the LSM6DSO driver's Python work per sample (drain() of 4-sample
#                         FIFOs through a minimal fake bus, less the fake bus's own calls)
#   poll_us               what a poll adds once: the alert rules on the newest angles
#   stream_bytes_per_sample, raw_bytes_per_sample, block_bytes   heap per sample (exact),
#                         GC block size
#   packets_per_sample    finished packets per sample (1/14 at MTU 247)
# Kept free of CPython-only syntax: MicroPython runs this file unchanged.
import gc
import math
import sys
import time

from madgwick import Madgwick

import alerts
import lsm6dso
import stream

RATE = lsm6dso.RATE_HZ
MTU = 247
PER_POLL = 4  # samples in the FIFO at each 40-ms poll at 104 Hz


class FakeBus:
    """The LSM6DSO's FIFO as the driver reads it, with as little Python as possible."""

    def __init__(self):
        self.words = 0
        self.tag = 0
        self.calls = 0

    def readfrom_mem_into(self, addr, reg, buf):
        self.calls += 1
        if reg == 0x3A:  # FIFO_STATUS1/2: the word count
            buf[0] = self.words
            buf[1] = 0
        elif reg == 0x78:  # FIFO_DATA_OUT_TAG + 6 data bytes: gyro and accel words in turn
            self.tag ^= 1
            buf[0] = 0x08 if self.tag else 0x10
            buf[1] = 0x10
            buf[2] = 0x02
        elif reg == 0x0F:
            buf[0] = 0x6C  # WHO_AM_I

    def writeto_mem(self, addr, reg, buf):
        pass


def native_madgwick():
    # the same Madgwick source with its update compiled to native code
    import madgwick

    with open(madgwick.__file__) as f:
        src = f.read().replace("    def update(", "    @micropython.native\n    def update(")
    g = {"__name__": "madgwick_native"}
    exec(src, g)
    return g["Madgwick"]()


def motion(n, rate):
    out = []
    dt = 1.0 / rate
    for i in range(n):
        t = i * dt
        out.append((0.6 * math.cos(6.3 * t), 0.3 * math.cos(12.6 * t), 0.01,
                    0.5 * math.sin(13.0 * t), 1.0 * math.sin(6.3 * t), 9.7, dt))
    return out


def best_of(fn, *args):
    best = 1e18
    for _ in range(10):
        gc.collect()
        t0 = time.ticks_us()
        fn(*args)
        t = time.ticks_diff(time.ticks_us(), t0)
        if t < best:
            best = t
    return best


def run_madgwick(m, data, laps=1):
    for _ in range(laps):
        for s in data:
            m.update(s[0], s[1], s[2], s[3], s[4], s[5], s[6])


def run_stream(st, data, laps=1):
    n = 0
    for _ in range(laps):
        for s in data:
            if st.sample(s[0], s[1], s[2], s[3], s[4], s[5], s[6]) is not None:
                n += 1
    return n


def run_raw(st, data, laps=1):
    n = 0
    for _ in range(laps):
        for s in data:
            if st.sample_raw(s[0], s[1], s[2], s[3], s[4], s[5]) is not None:
                n += 1
    return n


def run_drain(imu, bus, polls):
    for _ in range(polls):
        bus.words = 2 * PER_POLL
        imu.drain()


def run_bus(bus, polls, buf, status):
    # the fake bus's own share of run_drain: the same calls, without the driver
    for _ in range(polls):
        bus.readfrom_mem_into(0x6A, 0x3A, status)
        for _ in range(2 * PER_POLL):
            bus.readfrom_mem_into(0x6A, 0x78, buf)


def run_alerts(a, polls):
    for i in range(polls):
        a.update(0.1 * (i & 7), 2.0)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    # Few live objects, as on the device (allocation slows down as live data fragments the
    # heap): 168 samples (whole 24-sample bias cycles and 14-sample packets), run in laps.
    data = motion(168, RATE)
    laps = 1
    n = laps * len(data)
    m = Madgwick()
    y = native_madgwick()
    st = stream.Stream(RATE, MTU)
    bus = FakeBus()
    imu = lsm6dso.LSM6DSO(bus)
    al = alerts.Alerts(25.0)
    polls = n // PER_POLL
    buf = bytearray(7)
    status = bytearray(2)
    run_madgwick(m, data, 3)  # past the filter's start-up (tau = 3 s)
    run_madgwick(y, data, 3)
    run_stream(st, data, 3)
    # the fastest pass of each over all repetitions (taken in turn, 10 passes at a time): the
    # closest this shared machine gets to an undisturbed run of each, for the same conditions
    tk = tm = ts = td = tp = tr = 1e18
    for _ in range(reps):
        tk = min(tk, best_of(run_madgwick, y, data, laps) / n)
        tm = min(tm, best_of(run_madgwick, m, data, laps) / n)
        ts = min(ts, best_of(run_stream, st, data, laps) / n)
        tr = min(tr, best_of(run_raw, st, data, laps) / n)
        drain = best_of(run_drain, imu, bus, polls)
        td = min(td, max(0.0, drain - best_of(run_bus, bus, polls, buf, status)) / n)
        tp = min(tp, best_of(run_alerts, al, polls) / polls)
    packets = run_stream(st, data)
    per_sample = raw_per_sample = -1.0
    if hasattr(gc, "mem_alloc"):
        # in 24-sample chunks (sliced before counting), so that a unit's heap holds the garbage
        chunks = [data[i:i + 24] for i in range(0, len(data), 24)]
        per = []
        for run in (run_stream, run_raw):
            used = 0
            for i in range(0, len(data), 24):
                gc.collect()
                gc.disable()
                a0 = gc.mem_alloc()
                run(st, chunks[i // 24])
                used += gc.mem_alloc() - a0
                gc.enable()
            per.append(used / len(data))
        per_sample, raw_per_sample = per
    block = 4 * (8 if sys.maxsize > 2**32 else 4)
    print("yardstick_us=%.3f madgwick_y=%.5f stream_y=%.5f drain_y=%.5f "
          "poll_y=%.5f madgwick_us=%.3f stream_us=%.3f drain_us_per_sample=%.3f "
          "poll_us=%.3f stream_bytes_per_sample=%.2f block_bytes=%d packets_per_sample=%.5f "
          "rate_hz=%.1f per_poll=%d raw_y=%.5f raw_us=%.3f raw_bytes_per_sample=%.2f"
          % (tk, tm / tk, ts / tk, td / tk, tp / tk, tm, ts, td, tp, per_sample, block,
             packets / len(data), RATE, PER_POLL, tr / tk, tr, raw_per_sample))


main()
