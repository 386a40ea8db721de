# Cost of one Attitude.update(), run as a script under MicroPython *and* CPython (same code),
# with the firmware folder on the module path. Prints one line:
#   us_per_update=<median> bytes_per_update=<n or -1> block_bytes=<n>
# Kept free of CPython-only syntax on purpose: MicroPython runs this file unchanged.
import gc
import math
import sys

import fusion

try:
    from time import ticks_diff, ticks_us
except ImportError:  # CPython
    from time import perf_counter_ns

    def ticks_us():
        return perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b


def inputs(n, rate):
    # a pelvis-like motion: slow sway plus 2 Hz oscillation, gravity rotated into the sensor
    out = []
    dt = 1.0 / rate
    for i in range(n):
        t = i * dt
        roll = 0.1 * math.sin(2 * math.pi * 1.0 * t)
        pitch = 0.05 * math.sin(2 * math.pi * 2.0 * t)
        wx = 0.1 * 2 * math.pi * math.cos(2 * math.pi * 1.0 * t)
        wy = 0.05 * 4 * math.pi * math.cos(2 * math.pi * 2.0 * t)
        ax = -9.81 * math.sin(pitch) + 0.5 * math.sin(13.0 * t)
        ay = 9.81 * math.cos(pitch) * math.sin(roll)
        az = 9.81 * math.cos(pitch) * math.cos(roll)
        out.append((wx, wy, 0.01, ax, ay, az, dt))
    return out


def main():
    rate = 100.0
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    data = inputs(n, rate)
    f = fusion.Attitude(rate)
    for s in data:  # warm up past the start-up phase (tau seconds)
        f.update(*s)
    times = []
    for _ in range(reps):
        gc.collect()
        t0 = ticks_us()
        for s in data:
            f.update(*s)
        times.append(ticks_diff(ticks_us(), t0) / n)
    times.sort()
    per = times[len(times) // 2]
    alloc = -1
    if hasattr(gc, "mem_alloc"):
        k = 50
        gc.collect()
        gc.disable()
        m0 = gc.mem_alloc()
        for i in range(k):
            f.update(*data[i])
        alloc = (gc.mem_alloc() - m0) // k
        gc.enable()
    # MicroPython allocates in GC blocks of 4 machine words (16 bytes on the ESP32)
    block = 4 * (8 if sys.maxsize > 2**32 else 4)
    print("us_per_update=%.2f bytes_per_update=%d block_bytes=%d" % (per, alloc, block))


main()
