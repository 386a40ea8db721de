"""``beltline bench report``: the HTML report of a long session against the batch analysis of
the same session, timed in the same run.

A 30-min virtual session (random conditions and confounders) is repeated, its clock shifted
on, up to ``hours``. Up to ``ANALYZE_MAX_H`` the repeated raw recording goes through the batch
pipeline (``analyze_s``) and the report is built from that analysis (``render_s``: build and
write); longer sessions repeat the analysed frames of the 30 minutes instead and only render.
"""

from __future__ import annotations

import json
import logging
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from beltline import analysis
from beltline.analysis import report
from beltline.sessions import analyze, rawcsv
from beltline.sim import scenarios, wearer

log = logging.getLogger(__name__)

ANALYZE_MAX_H = 24.0  # beyond, a raw recording in one process is the batch pipeline's work


def _repeat_raw(rec: wearer.Recording, reps: int, span: float) -> rawcsv.Raw:
    shift = np.repeat(np.arange(reps) * span, len(rec.t))
    return rawcsv.Raw(np.tile(rec.t, reps) + shift, np.tile(rec.acc, (reps, 1)),
                      np.tile(rec.gyr, (reps, 1)))


def _repeat_frames(s: analysis.Session, reps: int, span: float) -> analysis.Session:
    def rep(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        parts = []
        for k in range(reps):
            d = df.copy()
            for c in cols:
                d[c] = d[c] + k * span
            parts.append(d)
        return pd.concat(parts, ignore_index=True)

    return analysis.Session(rep(s.samples, ["t_s"]), rep(s.steps, ["t_s"]),
                            rep(s.episodes, ["start_s", "end_s"]), s.meta)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(hours: float) -> dict[str, object]:
    logging.getLogger("beltline.pipeline").setLevel(logging.WARNING)
    rec = wearer.simulate(scenarios.build("mixed", 30.0, 4), 100.0, seed=4)
    span = float(rec.t[-1] - rec.t[0]) + 1.0
    reps = max(1, round(hours * 3600 / span))
    analyze_s: float | None = None
    if hours <= ANALYZE_MAX_H:
        raw = _repeat_raw(rec, reps, span)
        del rec
        t0 = time.perf_counter()
        res = analyze.run(raw)
        analyze_s = time.perf_counter() - t0
        s = analysis.from_result(res)
        del res, raw
    else:
        s = _repeat_frames(analysis.from_result(analyze.run(
            rawcsv.Raw(rec.t, rec.acc, rec.gyr))), reps, span)
    t0 = time.perf_counter()
    page = report.build(s, f"Beltline: {hours:g}-hour session")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "report.html"
        report.write(path, page)
        render_s = time.perf_counter() - t0
        mb = path.stat().st_size / 1e6
    hours_real = (s.samples["t_s"].iloc[-1] - s.samples["t_s"].iloc[0]) / 3600
    ratio = render_s / analyze_s if analyze_s else None
    result = {"hours": round(hours_real, 2), "samples": len(s.samples), "steps": len(s.steps),
              "episodes": len(s.episodes), "render_s": round(render_s, 2),
              "analyze_s": round(analyze_s, 2) if analyze_s is not None else None,
              "render_vs_analyze": round(ratio, 3) if ratio is not None else None,
              "size_mb": round(mb, 2), "peak_rss_mb": round(_peak_rss_mb(), 0),
              "targets": {"render_vs_analyze": 0.5, "size_mb": 10}}
    print(f"{hours_real:.1f}-hour session ({len(s.samples)} samples, {len(s.steps)} steps, "
          f"{len(s.episodes)} episodes): report in {render_s:.1f} s, {mb:.1f} MB")
    if analyze_s is not None:
        print(f"batch analysis of the same session: {analyze_s:.1f} s; report / analysis = "
              f"{ratio:.2f} (target 0.5)")
    else:
        print(f"(over {ANALYZE_MAX_H:.0f} h the analysed 30 minutes are repeated: render only)")
    print(f"peak memory {result['peak_rss_mb']:.0f} MB")
    print(json.dumps(result))
    return result
