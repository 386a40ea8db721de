# What the belt unit's CPU does per second, measured under MicroPython's unix port for the power
# model (``beltline bench power``). Runs with the firmware folder and this folder on
# MICROPYPATH. Prints one line of key=value pairs. Each cost is the fastest of 10 passes (the
# least disturbed by other load on a shared machine) divided by the yardstick's fastest of 3 in
# the same repetition; the figures are medians of those ratios over the repetitions
# (*_kernels), also given in microseconds here (*_us = ratio x the median yardstick):
#   kernel_us             kernel(1000) below: the yardstick that turns this machine's times
#                         into the ESP32-S3's (calibrated against published benchmarks, power.py)
#   madgwick_us           one plain Madgwick update (madgwick.py), for reference
#   stream_us             one Stream.sample at the LSM6DSO's 104 Hz, MTU 247 (filter, pelvis
#                         angles, batching, CRC of each finished packet)
#   drain_us_per_sample   the LSM6DSO driver's Python work per sample (drain() of 4-sample
#                         FIFOs through a minimal fake bus, less the fake bus's own calls)
#   poll_us               what a poll adds once: the alert rules on the newest angles
#   stream_bytes_per_sample, block_bytes   heap per sample (exact), GC block size
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


def kernel(n):
    # Beltline's yardstick: float arithmetic in a small bytecode function (no heap-allocated
    # frame, so its time does not depend on the heap's state). power.py relates its time here
    # to the ESP32-S3's through benchmarks published for boards.
    x = 0.5
    y = 0.25
    s = 0.0
    for _ in range(n):
        x = x * 0.999 + y
        y = y * 0.5 + 0.125
        s += x * y
    return s


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


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


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
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    # Few live objects, as on the device (allocation slows down as live data fragments the
    # heap): 168 samples (whole 24-sample bias cycles and 14-sample packets), run in laps.
    data = motion(168, RATE)
    laps = 1
    n = laps * len(data)
    m = Madgwick()
    st = stream.Stream(RATE, MTU)
    bus = FakeBus()
    imu = lsm6dso.LSM6DSO(bus)
    al = alerts.Alerts(25.0)
    polls = n // PER_POLL
    buf = bytearray(7)
    status = bytearray(2)
    run_madgwick(m, data, 3)  # past the filter's start-up (tau = 3 s)
    run_stream(st, data, 3)
    # per repetition: each cost as a ratio to the yardstick timed in the same repetition
    tk, rm, rs, rd, rp = [], [], [], [], []
    for _ in range(reps):
        k = best_of(kernel, 1000)
        tk.append(k)
        rm.append(best_of(run_madgwick, m, data, laps) / n / k)
        rs.append(best_of(run_stream, st, data, laps) / n / k)
        drain = best_of(run_drain, imu, bus, polls)
        rd.append(max(0.0, drain - best_of(run_bus, bus, polls, buf, status)) / n / k)
        rp.append(best_of(run_alerts, al, polls) / polls / k)
    packets = run_stream(st, data)
    per_sample = -1.0
    if hasattr(gc, "mem_alloc"):
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        run_stream(st, data)
        per_sample = (gc.mem_alloc() - a0) / len(data)
        gc.enable()
    block = 4 * (8 if sys.maxsize > 2**32 else 4)
    k = median(tk)
    print("kernel_us=%.2f madgwick_kernels=%.6f stream_kernels=%.6f drain_kernels=%.6f "
          "poll_kernels=%.6f madgwick_us=%.3f stream_us=%.3f drain_us_per_sample=%.3f "
          "poll_us=%.3f stream_bytes_per_sample=%.2f block_bytes=%d packets_per_sample=%.5f "
          "rate_hz=%.1f per_poll=%d"
          % (k, median(rm), median(rs), median(rd), median(rp), median(rm) * k, median(rs) * k,
             median(rd) * k, median(rp) * k, per_sample, block, packets / len(data), RATE,
             PER_POLL))


main()
