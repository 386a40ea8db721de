"""``beltline bench store``: what keeping the raw record costs, and what a kill loses.

1. A virtual walk of ``minutes`` goes through the firmware's own packets, the receiver, the
   live pipeline and the recorder, as in ``beltline monitor`` but unpaced. Measured in the same
   run, as CPU time of the thread (the machine may be shared): the live pipeline's cost per
   sample (the reference) and the recorder's (queueing the raw samples and the preview,
   encoding, committing at least every 0.5 s); the commits' latency as wall time.
2. The session is closed and given its final analysis (``reanalyze_s``: the batch pipeline
   over the stored raw record, read back block by block) against ``analyze_s``: the batch
   pipeline over the same samples already in memory (``beltline analyze``'s path).
3. The store's size per hour of raw after the final analysis (file after a checkpoint, and
   the raw blocks alone).
4. ``kills``: a live session in a child process (the virtual unit at ``speed`` times real
   time) is killed with SIGKILL at random instants, some before the calibration is found;
   the next command that opens the store finishes it; the loss is what the child had
   received (it prints every notification before handling it) minus what the store holds.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from beltline.link.receiver import Receiver
from beltline.pipeline import Pipeline
from beltline.pipeline.settings import Settings, as_dict
from beltline.records import RawBlock, RawFormat
from beltline.sessions import analyze, codec, finish, rawcsv
from beltline.sessions.readers import load_walker
from beltline.sessions.recorder import Recorder
from beltline.sessions.store import Store
from beltline.sim import scenarios, wearer
from beltline.sim.device import packets

log = logging.getLogger(__name__)
SCRIPT = Path(__file__).parent / "scripts" / "record_live.py"
RATE_HZ = 100.0


def record(db: Path, minutes: float, seed: int = 5) -> dict[str, object]:
    rec = wearer.simulate(scenarios.build("demo", minutes, seed), RATE_HZ, seed=seed)
    pk = list(packets(rec, 247, None, seed))
    store = Store(db)
    rx = Receiver(RATE_HZ, keep_late=True)
    p = Pipeline(Settings(), live=True)
    rec_ = Recorder.start(store, "live", name="bench", link="virtual",
                          settings=dict(as_dict(Settings())))
    fmt = RawFormat.wire(RATE_HZ)
    t_pipe = t_raw = t_rows = t_write = 0.0
    commit_times: list[float] = []
    orig_flush = rec_.flush

    def timed_flush(all_samples: bool = False) -> None:
        t0 = time.perf_counter()  # latency: wall time, I/O included
        orig_flush(all_samples)
        commit_times.append(time.perf_counter() - t0)

    rec_.flush = timed_flush  # type: ignore[method-assign]
    for _, payload in pk:
        for chunk in rx.push(payload):
            t0 = time.thread_time()
            assert chunk.ticks is not None
            rec_.raw(RawBlock(chunk.ticks, chunk.acc, chunk.gyr), fmt)
            t1 = time.thread_time()
            out = p.push(chunk.t, chunk.acc, chunk.gyr)
            t2 = time.thread_time()
            rows = out.rows()
            t3 = time.thread_time()
            rec_.write(rows)
            t4 = time.thread_time()
            t_raw += t1 - t0
            t_pipe += t2 - t1
            t_rows += t3 - t2
            t_write += t4 - t3
    for chunk in rx.flush():
        assert chunk.ticks is not None
        rec_.raw(RawBlock(chunk.ticks, chunk.acc, chunk.gyr), fmt)
        rec_.write(p.push(chunk.t, chunk.acc, chunk.gyr).rows())
    rec_.write(p.finish().rows())
    rec_.flush(all_samples=True)
    n = rx.timeline.stats.samples
    live_bytes = os.path.getsize(db)
    t0 = time.thread_time()
    done = finish.finalise(store, rec_.sid, Settings(), ended_unix=time.time())
    reanalyze_s = close_s = time.thread_time() - t0
    rec_.release()
    raw = store.raw(rec_.sid)
    # the same run, alternated: the final analysis again (new settings) against the batch
    # pipeline over the same samples in memory; medians of three
    re_s, an_s = [reanalyze_s], []
    for _ in range(3):
        t0 = time.thread_time()
        analyze.run(rawcsv.Raw(raw.ticks / RATE_HZ, raw.acc, raw.gyr), Settings())
        an_s.append(time.thread_time() - t0)
        t0 = time.thread_time()
        finish.finalise(store, rec_.sid, Settings())
        re_s.append(time.thread_time() - t0)
    reanalyze_s, analyze_s = statistics.median(re_s[1:]), statistics.median(an_s)
    store.checkpoint()
    free = store._q("PRAGMA freelist_count")[0][0]
    hours = n / RATE_HZ / 3600.0
    raw_bytes = store._q("SELECT SUM(LENGTH(data)) + 40 * COUNT(*) FROM raw_blocks")[0][0]
    sample_bytes = store._q("SELECT SUM(LENGTH(data)) FROM sample_blocks")[0][0]
    store.close()
    size = os.path.getsize(db)
    return {
        "raw_samples": n, "stored_raw_samples": done.raw_samples, "hours": round(hours, 3),
        "store_mb_per_hour": round(size / 1e6 / hours, 2),
        "raw_mb_per_hour": round(float(raw_bytes or 0) / 1e6 / hours, 2),  # type: ignore
        "results_mb_per_hour": round(float(sample_bytes or 0) / 1e6 / hours, 2),  # type: ignore
        "bytes_per_raw_sample": round(float(raw_bytes or 0) / n, 2),  # type: ignore
        "live_store_mb_per_hour": round(live_bytes / 1e6 / hours, 2),
        "free_pages": free,
        "pipeline_us_per_sample": round(t_pipe / n * 1e6, 2),
        "recorder_us_per_sample": round((t_raw + t_write) / n * 1e6, 2),
        "raw_us_per_sample": round(t_raw / n * 1e6, 2),
        "preview_us_per_sample": round(t_write / n * 1e6, 2),
        "rows_us_per_sample": round(t_rows / n * 1e6, 2),
        "recorder_to_pipeline": round((t_raw + t_write) / t_pipe, 3),
        "recorder_core_pct_at_100hz": round((t_raw + t_write) / n * RATE_HZ * 100, 3),
        "commits": len(commit_times),
        "commit_ms_p50": round(statistics.median(commit_times) * 1000, 2),
        "commit_ms_p99": round(sorted(commit_times)[int(0.99 * (len(commit_times) - 1))]
                               * 1000, 2),
        "close_analysis_s": round(close_s, 2),
        "reanalyze_s": round(reanalyze_s, 2), "analyze_s": round(analyze_s, 2),
        "reanalyze_to_analyze": round(reanalyze_s / analyze_s, 3),
        "episodes": done.episodes,
    }


def real_bytes_per_sample(walkers: Path) -> float | None:
    """The raw codec on real recordings (the shared lower-back walkers at 100 Hz, quantised to
    the unit's counts), in one-minute blocks as a closed session keeps them."""
    files = sorted(walkers.glob("*_lb.txt")) if walkers.is_dir() else []
    if not files:
        return None
    total = n = 0
    for f in files:
        raw, _, _ = load_walker(f)
        fmt = RawFormat.wire(RATE_HZ)
        counts = np.rint(np.column_stack([raw.acc / fmt.acc_lsb, raw.gyr / fmt.gyr_lsb]))
        counts = np.clip(counts, -32767, 32767).astype(np.int64)
        ticks = np.rint(raw.t * RATE_HZ).astype(np.int64)
        for i in range(0, len(ticks), 6000):
            total += len(codec.encode_raw(ticks[i: i + 6000], counts[i: i + 6000], 16)) + 40
        n += len(ticks)
    return total / n


def kill_trial(db: Path, at_s: float, speed: float, seed: int = 1,
               timeout_s: float = 300.0) -> dict[str, object]:
    """Kill a live session ``at_s`` device seconds into its stream; the loss in samples and
    seconds after the next start finished it."""
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(db), str(speed), str(seed)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    arrived: set[int] = set()
    first: int | None = None
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            line = proc.stdout.readline()  # no read-ahead: exactly what has been printed
            if not line or line.startswith("done") or time.monotonic() > deadline:
                break
            tick, n = (int(x) for x in line.split())
            first = tick if first is None else first
            arrived.update(range(tick, tick + n))
            if (tick + n - first) / RATE_HZ >= at_s:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    # the next command that opens the store finishes the session: as a user would see it
    out = subprocess.run([sys.executable, "-m", "beltline", "sessions", "--json", "--store",
                          str(db)], capture_output=True, text=True, check=True)
    listed = json.loads(out.stdout)
    with Store(db) as s:
        sid = listed[-1]["id"]
        stored = set(s.raw(sid).ticks.tolist())
    lost = len(arrived - stored)
    return {"at_s": at_s, "arrived": len(arrived), "stored": len(stored),
            "lost_samples": lost, "lost_s": round(lost / RATE_HZ, 3),
            "extra": len(stored - arrived), "closed": listed[-1]["closed"],
            "final": listed[-1]["final"], "note": listed[-1]["note"]}


def main(minutes: float, kills: int, speed: float, walkers: Path,
         seed: int = 0) -> dict[str, object]:
    logging.getLogger("beltline").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        result = record(Path(tmp) / "bench.db", minutes)
        real = real_bytes_per_sample(walkers)
        result["real_bytes_per_raw_sample"] = round(real, 2) if real else None
        result["real_raw_mb_per_hour"] = round(real * RATE_HZ * 3600 / 1e6, 2) if real else None
        trials = []
        rng = random.Random(seed)
        for k in range(kills):
            # a third of the kills before the calibration (it needs ~40 s of standing + walk)
            at = rng.uniform(1.0, 35.0) if k % 3 == 0 else rng.uniform(35.0, 170.0)
            trials.append(kill_trial(Path(tmp) / f"kill{k}.db", round(at, 2), speed, k + 1))
    print(f"{result['hours']} h of raw: store {result['store_mb_per_hour']} MB/h "
          f"(raw blocks {result['raw_mb_per_hour']} MB/h, "
          f"{result['bytes_per_raw_sample']} B/sample; results "
          f"{result['results_mb_per_hour']} MB/h)")
    if result["real_bytes_per_raw_sample"]:
        print(f"raw codec on the real walkers: {result['real_bytes_per_raw_sample']} B/sample, "
              f"{result['real_raw_mb_per_hour']} MB/h at 100 Hz")
    print(f"live pipeline {result['pipeline_us_per_sample']} us/sample, recorder "
          f"{result['recorder_us_per_sample']} us/sample (x{result['recorder_to_pipeline']}, "
          f"{result['recorder_core_pct_at_100hz']} % of a core at 100 Hz); "
          f"{result['commits']} commits, p50 {result['commit_ms_p50']} ms, "
          f"p99 {result['commit_ms_p99']} ms")
    print(f"final analysis from the store {result['reanalyze_s']} s vs batch in memory "
          f"{result['analyze_s']} s (x{result['reanalyze_to_analyze']})")
    for t in trials:
        print(f"kill at {t['at_s']:7.2f} s: arrived {t['arrived']}, stored {t['stored']}, "
              f"lost {t['lost_samples']} samples ({t['lost_s']} s), closed {t['closed']}, "
              f"final {t['final']} {t['note']}")
    if trials:
        losses = [float(t["lost_s"]) for t in trials]  # type: ignore[arg-type]
        result["kills"] = len(trials)
        result["kill_lost_s_max"] = max(losses)
        result["kill_lost_s_median"] = statistics.median(losses)
        result["kill_trials"] = trials
    print(json.dumps(result))
    return result


__all__ = ["kill_trial", "main", "record"]
