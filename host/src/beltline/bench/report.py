"""``beltline bench report``: time and size of the HTML report for a long session.

A 30-min virtual session (random conditions and confounders) is analysed once and repeated,
its clock shifted on, up to ``hours``; the report is then built from those frames and written.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path

import pandas as pd

from beltline import analysis
from beltline.analysis import report
from beltline.sessions import analyze, rawcsv
from beltline.sim import scenarios, wearer

log = logging.getLogger(__name__)


def long_session(hours: float) -> analysis.Session:
    rec = wearer.simulate(scenarios.build("mixed", 30.0, 4), 100.0, seed=4)
    s = analysis.from_result(analyze.run(rawcsv.Raw(rec.t, rec.acc, rec.gyr)))
    span = float(rec.t[-1] - rec.t[0]) + 1.0
    reps = max(1, round(hours * 3600 / span))

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


def main(hours: float) -> dict[str, object]:
    logging.getLogger("beltline.pipeline").setLevel(logging.WARNING)
    s = long_session(hours)
    t0 = time.perf_counter()
    page = report.build(s, f"Beltline: {hours:.0f}-hour session")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "report.html"
        report.write(path, page)
        elapsed = time.perf_counter() - t0
        mb = path.stat().st_size / 1e6
    hours_real = (s.samples["t_s"].iloc[-1] - s.samples["t_s"].iloc[0]) / 3600
    result = {"hours": round(hours_real, 2), "samples": len(s.samples), "steps": len(s.steps),
              "render_s": round(elapsed, 2), "size_mb": round(mb, 2),
              "targets": {"render_s": 10, "size_mb": 10}}
    print(f"{hours_real:.1f}-hour session ({len(s.samples)} samples, {len(s.steps)} steps): "
          f"report in {elapsed:.1f} s, {mb:.1f} MB (targets 10 s, 10 MB)")
    print(json.dumps(result))
    return result
