"""``beltline bench sim``: what the virtual wearer and the virtual device cost.

- offline generation: wall time to generate a session of ``minutes`` (the daily-mix scenario),
  as samples per second and as the share of a core that generating in real time would take;
- offline streaming: the firmware's sample loop (fusion, pelvis angles, batching, wire format)
  over that data as fast as it goes, samples per second;
- real time: the virtual link paced at 1x for ``seconds``, its process CPU time over the wall
  time (the share of one core that streaming a 100 Hz wearer costs), plus the generation
  share, against the 5 % budget.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from tqdm import tqdm

from beltline.sim import scenarios, wearer
from beltline.sim.device import packets
from beltline.sim.link import VirtualLink

log = logging.getLogger(__name__)
BUDGET = 0.05


def main(minutes: float, seconds: float) -> dict[str, object]:
    t0 = time.perf_counter()
    rec = wearer.simulate(scenarios.build("daily_mix", minutes, 1), 100.0, seed=1)
    gen_s = time.perf_counter() - t0
    n = len(rec.t)
    data_s = float(rec.t[-1] - rec.t[0])
    gen_share = gen_s / data_s

    part = wearer.simulate(scenarios.build("healthy_walk", 2.0, 2), 100.0, seed=2)
    t0 = time.perf_counter()
    count = sum(1 for _ in packets(part, 247))
    stream_s = time.perf_counter() - t0
    stream_rate = len(part.t) / stream_s

    async def paced() -> tuple[float, float, int]:
        link = VirtualLink(part, speed=1.0)
        got = 0
        w0, c0 = time.perf_counter(), time.process_time()
        async with link:
            with tqdm(total=int(seconds), desc="real-time stream", unit="s",
                      mininterval=1.0) as bar:
                async for _ in link.notifications():
                    got += 1
                    el = time.perf_counter() - w0
                    if int(el) > bar.n:
                        bar.update(min(int(el), int(seconds)) - bar.n)
                    if el >= seconds:
                        break
        return time.perf_counter() - w0, time.process_time() - c0, got

    wall, cpu, got = asyncio.run(paced())
    share = cpu / wall
    total = share + gen_share
    result: dict[str, object] = {"generate_minutes": minutes, "generate_s": round(gen_s, 2),
              "generate_samples_per_s": round(n / gen_s),
              "generate_core_share_realtime": round(gen_share, 5),
              "stream_samples_per_s_offline": round(stream_rate),
              "packets_offline": count,
              "realtime_seconds": round(wall, 1), "realtime_packets": got,
              "realtime_stream_core_share": round(share, 4),
              "realtime_total_core_share": round(total, 4), "budget": BUDGET}
    print(f"generate {minutes:.0f} min of wearer: {gen_s:.2f} s "
          f"({n / gen_s / 1e3:.0f} k samples/s; {100 * gen_share:.2f} % of a core in real time)")
    print(f"stream offline (firmware loop, CPython): {stream_rate / 1e3:.1f} k samples/s")
    print(f"stream in real time for {wall:.0f} s: {100 * share:.2f} % of a core; with "
          f"generation {100 * total:.2f} % (budget {100 * BUDGET:.0f} %)")
    print(json.dumps(result))
    return result
