"""``beltline bench pipeline``: batch throughput, live cost per sample, memory over hours.

The reference for the live figure is the batch run on the same recording in the same process:
the ratio shows what packet-by-packet feeding costs.
"""

from __future__ import annotations

import json
import logging
import time
import tracemalloc

import numpy as np
from tqdm import tqdm

from beltline.pipeline import Pipeline
from beltline.sessions import rawcsv
from beltline.sessions.live import FEED_BLOCK_S
from beltline.sim import scenarios, wearer

log = logging.getLogger(__name__)
PACKET = 4  # samples per BLE notification at 100 Hz and <= 25 notifications/s
LIVE_BLOCK = round(FEED_BLOCK_S * 100)  # what sessions.live feeds the pipeline at a time


def _recording(minutes: float, seed: int = 7) -> rawcsv.Raw:
    rec = wearer.simulate(scenarios.build("daily_mix", minutes, seed), 100.0, seed=seed)
    return rawcsv.Raw(rec.t, rec.acc, rec.gyr)


def batch_rate(raw: rawcsv.Raw, repeats: int = 3) -> float:
    """Median samples per second analysing ``raw`` in one call."""
    times = []
    for _ in range(repeats):
        p = Pipeline()
        t0 = time.perf_counter()
        p.push(raw.t, raw.acc, raw.gyr)
        p.finish()
        times.append(time.perf_counter() - t0)
    return len(raw.t) / float(np.median(times))


def vqf_rate(raw: rawcsv.Raw, repeats: int = 3) -> float:
    """The reference in the same run: samples per second of the bare attitude filter (the C++
    VQF the pipeline starts with) on the same samples. The machine's speed varies; the ratio
    of the pipeline to this does much less."""
    from vqf import VQF

    gyr, acc = np.ascontiguousarray(raw.gyr), np.ascontiguousarray(raw.acc)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        VQF(0.01).updateBatch(gyr, acc)
        times.append(time.perf_counter() - t0)
    return len(raw.t) / float(np.median(times))


def live_us_per_sample(raw: rawcsv.Raw, seconds: float = 300.0, block: int = PACKET) -> float:
    """CPU microseconds per sample when fed in pieces of ``block`` samples (``PACKET``: one
    notification each; ``LIVE_BLOCK``: as the live session feeds it)."""
    n = min(len(raw.t), int(seconds * 100))
    p = Pipeline()
    t0 = time.process_time()
    for i in range(0, n, block):
        p.push(raw.t[i: i + block], raw.acc[i: i + block], raw.gyr[i: i + block])
    return (time.process_time() - t0) / n * 1e6


def memory_over(raw: rawcsv.Raw, hours: float) -> list[float]:
    """Traced memory (MiB) after each hour of a session made by repeating ``raw`` (its time
    shifted on) and fed in one-second pieces."""
    span = raw.t[-1] - raw.t[0] + 0.01
    p = Pipeline()
    marks: list[float] = []
    tracemalloc.start()
    fed = 0.0
    next_mark = 3600.0
    with tqdm(total=int(hours * 3600), desc="long session", unit="s") as bar:
        rep = 0
        while fed < hours * 3600:
            t = raw.t + rep * span
            for i in range(0, len(t), 100):
                p.push(t[i: i + 100], raw.acc[i: i + 100], raw.gyr[i: i + 100])
            fed += span
            rep += 1
            bar.update(int(span))
            while fed >= next_mark:
                marks.append(tracemalloc.get_traced_memory()[0] / 2**20)
                next_mark += 3600.0
    tracemalloc.stop()
    return marks


def main(minutes: float, hours: float) -> dict[str, object]:
    raw = _recording(minutes)
    rate = batch_rate(raw)
    ref = vqf_rate(raw)
    live = live_us_per_sample(raw, block=LIVE_BLOCK)
    per_packet = live_us_per_sample(raw)
    mem = memory_over(_recording(10.0), hours) if hours > 0 else []
    result = {"batch_samples_per_s": round(rate), "batch_minutes": minutes,
              "vqf_reference_samples_per_s": round(ref),
              "batch_cost_vs_vqf_alone": round(ref / rate, 2),
              "live_block_samples": LIVE_BLOCK,
              "live_us_per_sample": round(live, 1),
              "per_packet_us_per_sample": round(per_packet, 1),
              "live_core_share_at_100hz": round(live * 100 / 1e6, 4),
              "live_to_batch_cost_ratio": round(live / (1e6 / rate), 1),
              "memory_mib_per_hour": [round(m, 2) for m in mem],
              "memory_growth_mib": round(mem[-1] - mem[0], 2) if len(mem) > 1 else None}
    print(f"batch: {rate / 1e6:.2f} M samples/s ({minutes:.0f}-min recording, median of 3); "
          f"the attitude filter alone: {ref / 1e6:.2f} M samples/s, so the whole pipeline "
          f"costs {ref / rate:.1f}x the filter")
    print(f"live:  {live:.1f} us/sample in blocks of {LIVE_BLOCK} (as the live session feeds "
          f"it) = {live * 100 / 1e4:.2f}% of a core at 100 Hz; {per_packet:.1f} us/sample "
          f"if fed each {PACKET}-sample packet")
    if mem:
        print("memory after each hour (MiB): " + ", ".join(f"{m:.1f}" for m in mem))
    print(json.dumps(result))
    return result
