"""The single-leg stance test and the exercise sets as scenarios of ``beltline simulate``.

They are not walks: ``beltline simulate --scenario NAME`` writes them with their own truth
(``write``), not through ``wearer.simulate``. For code that builds a wearer recording of any
scenario (the detection benchmark cycles through them all), ``build`` gives the stand-in a
wearer can do: quiet standing for the test's or the set's length (no episode to find).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np

from beltline.exercise_records import REP_COLUMNS
from beltline.pipeline.exercise_settings import EXERCISES
from beltline.sessions import rawcsv
from beltline.sim import exercises, trendelenburg
from beltline.sim.scenarios import Scenario
from beltline.sim.wearer import Segment

log = logging.getLogger(__name__)


def _standing(_minutes: float, _rng: np.random.Generator) -> list[Segment]:
    return [Segment("stand", 90.0)]


DESCRIPTIONS = {
    "trendelenburg_test": "single-leg stance test: both legs ~30 s, a random drop per leg "
                          "(beltline test trendelenburg)",
    **{f"exercise_{ex}": f"a set of {ex.replace('_', ' ')}: random reps, some compensated "
                         f"(beltline exercise {ex})" for ex in EXERCISES},
}
EXERCISE_SCENARIOS: dict[str, Scenario] = {name: Scenario(name, text, _standing)
                      for name, text in DESCRIPTIONS.items()}


def write(name: str, seed: int, mount: str, rate_hz: float, out: Path) -> None:
    """raw.csv and the truth of scenario ``name`` in ``out``: truth.json (the test, in the
    format of ``beltline test trendelenburg --out``) or truth_reps.csv (a set, in the format of
    ``beltline exercise --reps``) with summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    if name == "trendelenburg_test":
        rec = trendelenburg.simulate_test(trendelenburg.random_plan(rng), rate_hz, seed=seed,
                                          mount=mount)
        s = rec.samples
        (out / "truth.json").write_text(json.dumps(rec.truth.as_dict(), indent=2) + "\n",
                                        encoding="utf-8")
    elif name.startswith("exercise_") and name[len("exercise_"):] in EXERCISES:
        ex = name[len("exercise_"):]
        srec = exercises.simulate_set(exercises.random_plan(ex, rng), rate_hz, seed=seed,
                                      mount=mount)
        s = srec.samples
        with (out / "truth_reps.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(REP_COLUMNS)
            w.writerows(r.row() for r in srec.truth)
        (out / "summary.json").write_text(json.dumps(srec.summary.as_dict(), indent=2) + "\n",
                                          encoding="utf-8")
    else:
        raise KeyError(f"{name!r} is not a test or exercise scenario")
    rawcsv.write(out / "raw.csv", rawcsv.Raw(s.t, s.acc, s.gyr))
    log.info("wrote %d samples (%.1f s) of %s to %s", len(s.t), s.t[-1], name, out)


__all__ = ["EXERCISE_SCENARIOS", "write"]
