# Cost of the firmware's per-sample work, run as a script under MicroPython *and* CPython (same
# code), with the firmware folder and this folder on the module path:
#   - one Attitude.update() (the firmware's filter) and one Madgwick update (madgwick.py, the
#     reference) on the same samples, timed alternately within each repetition so that load on
#     a shared machine hits both alike;
#   - one Stream.sample() (filter + pelvis angles + batching into packets, as the device does).
# Prints one line of key=value pairs:
#   us_per_update, madgwick_us_per_update, ratio_to_madgwick (median of the per-repetition
#   ratios), madgwick_native_us_per_update and ratio_to_madgwick_native (the same Madgwick
#   source compiled with @micropython.native, for reference; -1 under CPython),
#   us_per_sample (Stream.sample), bytes_per_update, madgwick_bytes_per_update,
#   bytes_per_sample (Stream.sample), block_bytes, packets_per_s, wear_bytes_per_sample and
#   wear_to_stream_time (wear.Wear.add, the motion-triggered recording's detector: heap per
#   sample, and its time as a fraction of Stream.sample's, median of the repetitions)
# Byte counts are exact (gc.mem_alloc with the collector off; -1 where there is no gc.mem_alloc)
# and taken over whole cycles of the filter's steps and of the packets (168 samples at 100 Hz,
# MTU 247), so they are true averages. Argument 1: repetitions (7), 2: samples per pass (168).
# Run it with a heap of a few MB (-X heapsize=4M): a bytecode function whose frame is
# heap-allocated (the plain Madgwick's) gets slower in a larger heap, so the heap is part of
# the conditions of the comparison.
# Kept free of CPython-only syntax on purpose: MicroPython runs this file unchanged.
import gc
import math
import sys

import madgwick
from madgwick import Madgwick

import fusion
import stream
import wear

try:
    from time import ticks_diff, ticks_us
except ImportError:  # CPython
    from time import perf_counter_ns

    def ticks_us():
        return perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b


RATE = 100.0
MTU = 247  # what the belt unit asks for (app.py)
PASSES = 10


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


def run_filter(f, data):
    for s in data:
        f.update(s[0], s[1], s[2], s[3], s[4], s[5], s[6])


def run_stream(st, data):
    packets = 0
    for s in data:
        if st.sample(s[0], s[1], s[2], s[3], s[4], s[5], s[6]) is not None:
            packets += 1
    return packets


def run_wear(w, data):
    for s in data:
        w.add(s[0], s[1], s[2])


def timed(fn, obj, data):
    # the fastest of PASSES passes: the least disturbed by other load on a shared machine
    best = 1e18
    for _ in range(PASSES):
        gc.collect()
        t0 = ticks_us()
        fn(obj, data)
        t = ticks_diff(ticks_us(), t0)
        if t < best:
            best = t
    return best / len(data)


def allocated(fn, obj, data):
    # in 24-sample chunks (the chunk's slices are made before counting), so that a unit's heap
    # holds each chunk's garbage with the collector off
    if not hasattr(gc, "mem_alloc"):
        return -1
    chunks = [data[i:i + 24] for i in range(0, len(data), 24)]
    used = 0
    for c in chunks:
        gc.collect()
        gc.disable()
        m0 = gc.mem_alloc()
        fn(obj, c)
        used += gc.mem_alloc() - m0
        gc.enable()
    return used / len(data)


def native_madgwick():
    # For reference only: the same Madgwick source with its update compiled to native code
    # (MicroPython's @micropython.native, as the firmware's hot functions are); None elsewhere.
    if sys.implementation.name != "micropython":
        return None
    with open(madgwick.__file__) as f:
        src = f.read().replace("    def update(", "    @micropython.native\n    def update(")
    g = {"__name__": "madgwick_native"}
    exec(src, g)
    return g["Madgwick"]()


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    # 168 samples = 7 bias steps of 3 windows of 8 = 12 packets of 14 (100 Hz, MTU 247): short
    # passes, as a plain bytecode function's heap-allocated frame gets slower as garbage piles up
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 168
    data = inputs(n, RATE)
    f = fusion.Attitude(RATE)
    m = Madgwick()
    mn = native_madgwick()
    st = stream.Stream(RATE, MTU)
    warm = inputs(int(5 * RATE), RATE)  # past the filter's start-up (tau seconds)
    run_filter(f, warm)
    run_filter(m, warm)
    if mn is not None:
        run_filter(mn, warm)
    run_stream(st, warm)
    wd = wear.Wear(RATE, 0.15, 0.3, 4.0, 180.0)  # the motion-triggered recording's detector
    run_wear(wd, warm)
    # Each repetition times each the fastest of 10 passes, one after the other; the figures
    # are medians over the repetitions (the ratios: of the per-repetition ratios).
    tf, tm, ts, ratio, tn, ratio_n, tw = [], [], [], [], [], [], []
    for _ in range(reps):
        a = timed(run_filter, f, data)
        b = timed(run_filter, m, data)
        c = timed(run_filter, mn, data) if mn is not None else 0.0
        d = timed(run_stream, st, data)
        tf.append(a)
        tm.append(b)
        ratio.append(a / b)
        if mn is not None:
            tn.append(c)
            ratio_n.append(a / c)
        ts.append(d)
        tw.append(timed(run_wear, wd, data) / d)
    packets = run_stream(st, data)
    af = allocated(run_filter, f, data)
    am = allocated(run_filter, m, data)
    ast = allocated(run_stream, st, data)
    aw = allocated(run_wear, wd, data)
    # MicroPython allocates in GC blocks of 4 machine words (16 bytes on the ESP32)
    block = 4 * (8 if sys.maxsize > 2**32 else 4)
    print("us_per_update=%.3f madgwick_us_per_update=%.3f ratio_to_madgwick=%.4f "
          "madgwick_native_us_per_update=%.3f ratio_to_madgwick_native=%.4f "
          "us_per_sample=%.3f bytes_per_update=%.2f madgwick_bytes_per_update=%.2f "
          "bytes_per_sample=%.2f block_bytes=%d packets_per_s=%.3f "
          "wear_bytes_per_sample=%.2f wear_to_stream_time=%.4f"
          % (median(tf), median(tm), median(ratio), median(tn) if tn else -1.0,
             median(ratio_n) if ratio_n else -1.0, median(ts), af, am, ast, block,
             packets * RATE / n, aw, median(tw)))


main()
