"""``beltline bench dashboard``: live-page update latency and server CPU over a long session.

A virtual walk of ``minutes`` runs through the virtual device, the live pipeline and the
recorder at ``speed`` times real time, while one simulated browser tab asks for an update every
100 ms exactly as the page does (the same ``live_update`` function the callback calls). Latency
is measured from a notification's arrival at the host to the update that carries its samples
being ready to send (the browser's drawing is not included); CPU is the process's CPU time over
wall time (link, pipeline, store and updates together).
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from beltline.dashboard.view import UPDATE_MS, live_update
from beltline.pipeline.settings import Settings
from beltline.sim.link import virtual_session

log = logging.getLogger(__name__)


def _rss_mb() -> float:
    """Resident memory now (Linux /proc; the peak would only show the wearer's generation)."""
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _pct(x: list[float], q: float) -> float:
    return sorted(x)[min(len(x) - 1, int(q * len(x)))] if x else float("nan")


def main(minutes: float, speed: float) -> dict[str, object]:
    cfg = Settings()
    with tempfile.TemporaryDirectory() as d:
        live = virtual_session("mixed", minutes, 3, "back", speed, Path(d) / "b.db", cfg)
        rss0 = _rss_mb()
        w0, c0 = time.perf_counter(), time.process_time()
        live.start()
        cursor = 0
        lat: list[float] = []
        cost: list[float] = []
        total_s = minutes * 60.0 / speed
        rss_mid: list[float] = []
        with tqdm(total=int(total_s), desc="dashboard", unit="s", mininterval=1.0) as bar:
            while not live.done.is_set():
                t0 = time.perf_counter()
                before = cursor
                res = live_update(live, cursor, cfg)
                cursor = int(res[1])  # type: ignore[arg-type]
                now = time.monotonic()
                cost.append((time.perf_counter() - t0) * 1000)
                with live.state.lock:
                    arrivals = [a for s, a in live.state.arrival if before < s <= cursor]
                if arrivals:
                    lat += [(now - a) * 1000 for a in arrivals]
                el = min(int(time.perf_counter() - w0), bar.total)
                if el > bar.n:
                    bar.update(el - bar.n)
                    if el % 10 == 0:
                        rss_mid.append(_rss_mb())
                time.sleep(max(0.0, UPDATE_MS / 1000 - (time.perf_counter() - t0)))
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        live.stop()
        rss1 = _rss_mb()
    result = {"minutes": minutes, "speed": speed, "wall_s": round(wall, 1),
              "updates": len(cost), "latency_ms_p50": round(statistics.median(lat), 1),
              "latency_ms_p99": round(_pct(lat, 0.99), 1),
              "update_cost_ms_p50": round(statistics.median(cost), 2),
              "update_cost_ms_p99": round(_pct(cost, 0.99), 2),
              "server_cpu_share": round(cpu / wall, 3),
              "server_cpu_share_per_realtime_hour": round(cpu / wall / speed, 4),
              "rss_mb_start": round(rss0, 1), "rss_mb_every_10s": [round(x, 1) for x in rss_mid],
              "rss_mb_end": round(rss1, 1)}
    print(f"{minutes:.0f} min of virtual walking at {speed:.0f}x in {wall:.0f} s, "
          f"{len(cost)} updates")
    print(f"arrival-to-update latency: p50 {result['latency_ms_p50']} ms, "
          f"p99 {result['latency_ms_p99']} ms (poll every {UPDATE_MS} ms)")
    print(f"update cost: p50 {result['update_cost_ms_p50']} ms; server CPU "
          f"{100 * cpu / wall:.1f} % of a core at {speed:.0f}x = "
          f"{100 * cpu / wall / speed:.2f} % in real time")
    print(json.dumps(result))
    return result
