"""``beltline bench detection``: episode and step detection against known truth.

Two suites:

- **virtual**: virtual-wearer sessions from the scenario library, with wearers (incl. side-cue
  polarities, asymmetric steps, belt-clip wobble: ``scenarios.varied_wearer``), mountings
  (incl. off-centre) and sample rates varied per session and seeds from 10_000 up (the
  detectors were never tuned on them). An episode is found when a detection of the same kind
  and side overlaps the label; precision, recall and F1 per kind, the median onset error
  (detected start - labelled start) and false alerts per hour of recordings that contain no
  episode of that kind.
- **walkers** (``../shared/data/lowerback-walks``, Voisard et al., IPOL 2023, AGPL-3.0): heel
  strikes against the foot-sensor events (a match is within 100 ms), the stance side of the
  matched ones, and how many episodes these healthy walkers raise (should be none).
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from beltline.pipeline.episodes import KINDS
from beltline.pipeline.evaluation import TOLERANCE_S, StrikeScore, match_episodes
from beltline.sessions import analyze, rawcsv
from beltline.sessions.readers import load_walker
from beltline.sim import scenarios, wearer

log = logging.getLogger(__name__)

MOUNTS = ("back", "left", "right", "front", "back-upside-down")
RATES = (50.0, 100.0, 200.0)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    onsets: list[float] = field(default_factory=list)
    clean_hours: float = 0.0
    clean_false: int = 0

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def virtual(sessions: int, minutes: float, seed0: int = 10_000) -> dict[str, object]:
    """Run ``sessions`` virtual sessions (cycling through the scenarios) and score them."""
    tallies = {k: Tally() for k in KINDS}
    names = list(scenarios.SCENARIOS)
    steps_tp = steps_n = steps_det = 0
    for s in tqdm(range(sessions), desc="virtual sessions", unit="session"):
        seed = seed0 + s
        rng = np.random.default_rng(seed)
        name = names[s % len(names)]
        who, mount = scenarios.varied_wearer(rng)
        rate = RATES[int(rng.integers(len(RATES)))]
        rec = wearer.simulate(scenarios.build(name, minutes, seed), rate, seed=seed,
                              wearer=scenarios.wearer_for(name, who), mount=mount)
        res = analyze.run(rawcsv.Raw(rec.t, rec.acc, rec.gyr))
        hours = (rec.t[-1] - rec.t[0]) / 3600.0
        for kind in KINDS:
            tp, fp, fn, on = match_episodes(res.episodes, rec.labels, kind)
            t = tallies[kind]
            t.tp, t.fp, t.fn = t.tp + tp, t.fp + fp, t.fn + fn
            t.onsets += on
            if not any(lab[0] == kind for lab in rec.labels):
                t.clean_hours += hours
                t.clean_false += fp
            if fp or fn:
                log.info("%s seed %d mount %s %.0f Hz: %s fp %d fn %d", name, seed, mount,
                         rate, kind, fp, fn)
        truth = np.array([t for t, _ in rec.steps])
        det = np.array([t for t, _ in res.steps])
        steps_n += len(truth)
        steps_det += len(det)
        if len(det) and len(truth):
            j = np.clip(np.searchsorted(det, truth), 1, len(det) - 1)
            near = np.minimum(np.abs(det[j] - truth), np.abs(det[j - 1] - truth))
            steps_tp += int((near <= TOLERANCE_S).sum())
    out: dict[str, object] = {}
    for kind, t in tallies.items():
        p, r, f1 = t.prf()
        out[kind] = {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3),
                     "onset_s_median": round(statistics.median(t.onsets), 2) if t.onsets
                     else None,
                     "false_alerts_per_hour": round(t.clean_false / t.clean_hours, 2)
                     if t.clean_hours else None}
    out["steps_recall"] = round(steps_tp / max(steps_n, 1), 3)
    out["steps_precision"] = round(min(steps_tp, steps_det) / max(steps_det, 1), 3)
    return out


def walkers(data_dir: Path) -> dict[str, object]:
    """Heel strikes, sides and episodes on the shared walkers (``bench gait`` has more)."""
    files = sorted(data_dir.glob("*_lb.txt"))
    if not files:
        raise FileNotFoundError(f"no *_lb.txt recordings in {data_dir}")
    score = StrikeScore()
    episodes = 0
    for f in tqdm(files, desc="walkers", unit="trial"):
        raw, truth, (a, b) = load_walker(f)
        res = analyze.run(raw)
        # scored inside the labelled walk (the files also hold a few foot events from moving
        # about after it, which the labels do not cover completely)
        truth = [x for x in truth if a - TOLERANCE_S <= x[0] <= b + TOLERANCE_S]
        det = [x for x in res.steps if a - TOLERANCE_S <= x[0] <= b + TOLERANCE_S]
        score.add(det, truth)
        episodes += len(res.episodes)
    d = score.as_dict()
    return {"trials": len(files), "heel_strikes": d["heel_strikes"],
            "precision": d["precision_100ms"], "recall": d["recall_100ms"],
            "f1": d["f1_100ms"], "side_accuracy": d["side_accuracy"],
            "side_unknown_share": d["side_unknown_share"],
            "offset_ms_median": d["offset_ms_median"], "episodes_raised": episodes}


def main(sessions: int, minutes: float, walkers_dir: Path) -> dict[str, object]:
    """Run both suites, print the table and the JSON line; returns the result."""
    logging.getLogger("beltline.pipeline").setLevel(logging.WARNING)  # the table is the output
    result: dict[str, object] = {"virtual": virtual(sessions, minutes),
                                 "sessions": sessions, "minutes": minutes}
    if walkers_dir.is_dir():
        result["walkers"] = walkers(walkers_dir)
    else:
        log.warning("walkers suite skipped: %s not found (the shared data lives beside the "
                    "repo)", walkers_dir)
        result["walkers"] = None
    v = result["virtual"]
    assert isinstance(v, dict)
    lines = [f"{'kind':<18}{'precision':>10}{'recall':>8}{'F1':>7}{'onset s':>9}"
             f"{'false/h':>9}"]
    for kind in KINDS:
        k = v[kind]
        lines.append(f"{kind:<18}{k['precision']:>10}{k['recall']:>8}{k['f1']:>7}"
                     f"{k['onset_s_median']!s:>9}{k['false_alerts_per_hour']!s:>9}")
    lines.append(f"virtual steps: recall {v['steps_recall']}, precision {v['steps_precision']}")
    w = result["walkers"]
    if isinstance(w, dict):
        lines.append(f"walkers ({w['trials']} trials, {w['heel_strikes']} heel strikes): "
                     f"precision {w['precision']}, recall {w['recall']}, F1 {w['f1']}, side "
                     f"{w['side_accuracy']} (unknown {w['side_unknown_share']}), offset "
                     f"{w['offset_ms_median']} ms, episodes raised {w['episodes_raised']}")
    print("\n".join(lines))
    print(json.dumps(result))
    return result
