# The wear detector (firmware/wear.py) under MicroPython: its heap use and time per sample next
# to Stream.sample's (same process, same samples), its grading of a still and a swaying
# gyroscope, and the AUTO_RECORD command and settings checks. Prints key=value lines.
import gc
import json
import math
import os
import sys
import time

import config
import control
import stream
import wear

RATE = 104.0


def samples(n, amp_rad_s):
    # a sway-like rate (0.4 + 0.9 Hz) with a constant zero-rate offset, gravity along z
    out = []
    for i in range(n):
        t = i / RATE
        w = amp_rad_s * (math.sin(2.5 * t) + 0.5 * math.sin(5.7 * t + 1.0))
        out.append((w + 0.01, 0.7 * w - 0.004, 0.002, 0.1, 0.2, 9.8, 1.0 / RATE))
    return out


def alloc(fn, data):
    used = 0
    for k in range(0, len(data), 24):  # chunks sliced before counting
        c = data[k:k + 24]
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        fn(c)
        used += gc.mem_alloc() - a0
        gc.enable()
    return used / len(data)


def best_us(fn, data):
    best = 1e18
    for _ in range(7):
        gc.collect()
        t0 = time.ticks_us()
        fn(data)
        best = min(best, time.ticks_diff(time.ticks_us(), t0))
    return best / len(data)


def main():
    data = samples(96 * 8, 0.02)
    w = wear.Wear(RATE, 0.15, 0.3, 4.0, 60.0)
    st = stream.Stream(RATE, 247)

    def run_wear(c):
        for s in c:
            w.add(s[0], s[1], s[2])

    def run_stream(c):
        for s in c:
            st.sample(s[0], s[1], s[2], s[3], s[4], s[5], s[6])

    def run_none(c):
        for _s in c:
            pass

    run_wear(data)
    run_stream(data)
    base = alloc(run_none, data)
    block = 4 * (8 if sys.maxsize > 2**32 else 4)
    print("wear_blocks_per_sample=%.3f" % ((alloc(run_wear, data) - base) / block))
    print("stream_blocks_per_sample=%.3f" % ((alloc(run_stream, data) - base) / block))
    ratios = []
    for _ in range(5):
        ratios.append(best_us(run_wear, data) / best_us(run_stream, data))
    ratios.sort()
    print("wear_to_stream_time=%.4f" % ratios[len(ratios) // 2])
    still = wear.Wear(RATE, 0.15, 0.3, 4.0, 60.0)
    for s in samples(96 * 3, 0.0):  # the offset alone: still
        still.add(s[0], s[1], s[2])
    print("still_level=%d" % still.level)
    print("worn_level=%d" % w.level)  # 0.02 rad/s of sway: ~1.3 dps RMS
    print("auto_cmd=%s" % (control.parse(control.encode(control.AUTO_RECORD, 0, 120.0)),))
    bad = [control.parse(b"\x0c\x02" + control.encode(control.AUTO_RECORD, 1, 60.0)[2:]),
           control.parse(control.encode(control.AUTO_RECORD, 1, 5.0)),
           control.parse(control.encode(control.AUTO_RECORD, 1, float("nan"))),
           control.parse(b"\x0c\x01")]
    print("auto_bad=%s" % " ".join(str(b) for b in bad))
    path = "wear_settings.json"
    with open(path, "w") as f:
        json.dump({"auto": 2, "still_dps": 0.5, "worn_dps": 0.1, "stop_s": 1.0,
                   "start_s": 4.5}, f)
    cfg, refused = config.load(path)
    os.remove(path)
    print("cfg_bad_refused=%d" % refused)
    print("cfg_start_s=%s" % cfg["start_s"])


main()
