"""``beltline simulate``: write a virtual wearer's recording as the common CSV files."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from beltline.sim import scenarios
from beltline.sim.wearer import Recording, Segment, simulate

log = logging.getLogger(__name__)


def write(rec: Recording, out: Path) -> None:
    """raw.csv, truth.csv, steps.csv, labels.csv in ``out`` (DESIGN.md §3 formats)."""
    out.mkdir(parents=True, exist_ok=True)
    raw = np.column_stack([rec.t, rec.acc, rec.gyr])
    np.savetxt(out / "raw.csv", raw, delimiter=",", header="t_s,ax,ay,az,gx,gy,gz",
               comments="", fmt=["%.5f"] + ["%.5f"] * 3 + ["%.6f"] * 3)
    with (out / "truth.csv").open("w", newline="") as f:
        f.write("t_s,obliquity_deg,tilt_deg,activity,stance\n")
        for t, o, p, a, s in zip(rec.t, rec.obliquity_deg, rec.tilt_deg, rec.activity,
                                 rec.stance, strict=True):
            f.write(f"{t:.5f},{o:.3f},{p:.3f},{a},{s}\n")
    with (out / "steps.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "side"])
        w.writerows((f"{t:.4f}", side) for t, side in rec.steps)
    with (out / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "side", "start_s", "end_s"])
        w.writerows((k, s, f"{a:.2f}", f"{b:.2f}") for k, s, a, b in rec.labels)


def run(scenario: str, minutes: float, seed: int, mount: str, rate_hz: float,
        out: Path) -> Recording:
    segments: list[Segment] = scenarios.build(scenario, minutes, seed)
    rec = simulate(segments, rate_hz=rate_hz, seed=seed, mount=mount,
                   wearer=scenarios.wearer_for(scenario))
    write(rec, out)
    log.info("wrote %d samples (%.1f min) of %s to %s", len(rec.t), rec.t[-1] / 60, scenario, out)
    return rec
