"""``beltline bench pipeline``: batch throughput, live cost per sample, memory over hours, and
the whole ``beltline analyze`` process against its floor.

The reference for the live figure is the batch run on the same recording in the same process:
the ratio shows what packet-by-packet feeding costs. The floor of ``analyze`` is a process that
only parses the same CSV with pandas and runs the C++ VQF over it (what no analysis can avoid);
both run as child processes, interleaved, so the machine's load hits them alike; peak memory is
each child's own RSS high-water mark (its ``VmHWM`` at exit).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

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


# the floor: parse the CSV with pandas and run the C++ VQF on it, nothing else
FLOOR = """
import sys
import numpy as np
import pandas as pd
from vqf import VQF
d = pd.read_csv(sys.argv[1], dtype=np.float64, engine="c")
acc = np.ascontiguousarray(d[["ax", "ay", "az"]].to_numpy())
gyr = np.ascontiguousarray(d[["gx", "gy", "gz"]].to_numpy())
VQF(0.01).updateBatch(gyr, acc)
"""


# runs a module or code in a child and writes its own peak RSS (VmHWM, KiB) at exit: a child's
# ru_maxrss on Linux starts from its parent's RSS at the fork (exec keeps the high-water mark),
# so the bench's own memory would show in every child's figure; VmHWM belongs to the new image
WRAP = """
import atexit, runpy, sys
out = sys.argv[1]
def peak():
    try:
        with open("/proc/self/status") as f:
            hwm = [line.split()[1] for line in f if line.startswith("VmHWM:")]
    except OSError:
        return
    with open(out, "w") as f:
        f.write(hwm[0] if hwm else "")
atexit.register(peak)
kind, target = sys.argv[2], sys.argv[3]
sys.argv = [target, *sys.argv[4:]]
if kind == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    exec(compile(target, "<floor>", "exec"), {"__name__": "__main__"})
"""


def child(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process ``[python, -m|-c, target, args...]``,
    which must succeed."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak_file:
        full = [cmd[0], "-c", WRAP, peak_file.name, *cmd[1:]]
        t0 = time.perf_counter()
        p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert p.stderr is not None
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({p.returncode}): "
                               f"{err.decode(errors='replace')[-400:]}")
        text = Path(peak_file.name).read_text().strip()
    # without /proc (not Linux): the child's ru_maxrss (KiB on Linux, bytes on macOS)
    kib = float(text) if text else usage.ru_maxrss / (1024 if sys.platform == "darwin" else 1)
    return seconds, kib / 1024


def analyze_cmd(csv: Path, out: Path, samples: bool) -> list[str]:
    cmd = [sys.executable, "-m", "beltline", "analyze", str(csv),
           "--episodes", str(out / "ep.csv"), "--steps", str(out / "st.csv")]
    return cmd + (["--samples", str(out / "sa.csv")] if samples else [])


def write_repeated(raw: rawcsv.Raw, path: Path, days: float) -> int:
    """A ``days``-long raw CSV made of ``raw`` repeated with its time shifted on by whole
    seconds, written at disk speed: every row of one repetition has the same width, so a
    repetition is one byte array whose time digits are rewritten (the values are the same
    numbers with zero padding, which every CSV reader parses). Returns the rows written."""
    span = int(np.ceil(raw.t[-1] - raw.t[0] + 0.01))
    t = raw.t - raw.t[0]
    frac = np.round(t - np.floor(t), 6)
    whole = np.floor(t).astype(np.int64) + (frac >= 1.0)
    frac = np.where(frac >= 1.0, 0.0, frac)
    vals = np.column_stack([frac, np.clip(raw.acc, -999, 999), np.clip(raw.gyr, -999, 999)])
    text = "".join(map("0000000{:.6f},{:+011.5f},{:+011.5f},{:+011.5f},{:+011.5f},"
                       "{:+011.5f},{:+011.5f}\n".format, *vals.T.tolist()))
    # "0.xxxxxx" after the seven zeros: drop the "0" before the point
    block = np.frombuffer(text.encode(), np.uint8).reshape(len(t), -1).copy()
    block = np.delete(block, 7, axis=1)
    reps = int(np.ceil(days * 86400 / span))
    rows = 0
    with path.open("wb") as f:
        f.write(b"t_s,ax,ay,az,gx,gy,gz\n")
        for r in tqdm(range(reps), desc="week file", unit="repetition", leave=False):
            sec = whole + r * span
            for d in range(7):
                block[:, 6 - d] = 48 + (sec // 10 ** d) % 10
            block.tofile(f)
            rows += len(t)
    return rows


def floor_figures(minutes: float, days: float, repeats: int) -> dict[str, object]:
    """The whole ``analyze`` process against the parse-plus-VQF floor on a ``minutes``-long CSV
    (median of ``repeats``), and the peak memory of ``analyze`` on it and on a ``days``-long
    file."""
    with tempfile.TemporaryDirectory(prefix="beltline-bench-") as tmp:
        d = Path(tmp)
        raw = _recording(minutes)
        csv = d / "hour.csv"
        rawcsv.write(csv, raw)
        runs: dict[str, list[tuple[float, float]]] = {"floor": [], "analyze": [],
                                                      "samples": []}
        for _ in tqdm(range(repeats), desc="analyze vs floor", leave=False):
            runs["floor"].append(child([sys.executable, "-c", FLOOR, str(csv)]))
            runs["analyze"].append(child(analyze_cmd(csv, d, samples=False)))
            runs["samples"].append(child(analyze_cmd(csv, d, samples=True)))
        med = {k: float(np.median([s for s, _ in v])) for k, v in runs.items()}
        peak = {k: max(m for _, m in v) for k, v in runs.items()}
        week: dict[str, float] = {}
        if days > 0:
            big = d / "week.csv"
            rows = write_repeated(raw, big, days)
            (d / "hour.csv").unlink()
            s, m = child(analyze_cmd(big, d, samples=False))
            week = {"rows": rows, "s": s, "peak": m}
            big.unlink()
    return {"hour_samples": len(raw.t), "floor_s": round(med["floor"], 2),
            "analyze_s": round(med["analyze"], 2),
            "analyze_samples_s": round(med["samples"], 2),
            "analyze_vs_floor": round(med["analyze"] / med["floor"], 2),
            "analyze_samples_vs_floor": round(med["samples"] / med["floor"], 2),
            "floor_peak_mib": round(peak["floor"], 1),
            "peak_mib_1h": round(max(peak["analyze"], peak["samples"]), 1),
            "week_days": days, "week_rows": week.get("rows"),
            "week_analyze_s": round(week["s"], 1) if week else None,
            "peak_mib_week": round(week["peak"], 1) if week else None}


def main(minutes: float, hours: float, days: float = 7.0, repeats: int = 3) -> dict[str, object]:
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
    floor = floor_figures(minutes, days, repeats)
    result.update(floor)
    print(f"batch: {rate / 1e6:.2f} M samples/s ({minutes:.0f}-min recording, median of 3); "
          f"the attitude filter alone: {ref / 1e6:.2f} M samples/s, so the whole pipeline "
          f"costs {ref / rate:.1f}x the filter")
    print(f"live:  {live:.1f} us/sample in blocks of {LIVE_BLOCK} (as the live session feeds "
          f"it) = {live * 100 / 1e4:.2f}% of a core at 100 Hz; {per_packet:.1f} us/sample "
          f"if fed each {PACKET}-sample packet")
    if mem:
        print("memory after each hour (MiB): " + ", ".join(f"{m:.1f}" for m in mem))
    print(f"analyze: {floor['analyze_s']:.2f} s for {minutes:.0f} min (episodes, steps) = "
          f"{floor['analyze_vs_floor']:.2f}x the floor ({floor['floor_s']:.2f} s: pandas "
          f"parse + C++ VQF); with --samples {floor['analyze_samples_s']:.2f} s = "
          f"{floor['analyze_samples_vs_floor']:.2f}x (median of {repeats}, child processes)")
    print(f"peak memory: {floor['peak_mib_1h']:.0f} MiB for {minutes:.0f} min (floor "
          f"{floor['floor_peak_mib']:.0f} MiB)" + (
              f"; {floor['peak_mib_week']:.0f} MiB for {days:g} days ({floor['week_rows']} "
              f"rows, {floor['week_analyze_s']:.0f} s)" if floor["peak_mib_week"] else ""))
    print(json.dumps(result))
    return result
