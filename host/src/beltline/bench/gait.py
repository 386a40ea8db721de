"""``beltline bench gait``: heel strikes, stance side and hip drops against references, per
data set.

- **walkers** (``../shared/data/lowerback-walks``, Voisard et al., IPOL 2023, AGPL-3.0): 58
  trials of 10 healthy subjects (stand, walk 10 m, turn 180°, walk back, stand), read straight
  from the Xsens exports. Heel strikes against the foot sensors' events at 50/100/150 ms, the
  side over the strikes given one, the share left ``unknown``, the median offset, the recall in
  the turn and at the walk's edges (its first and last two strikes), the cadence, and the
  episodes raised (healthy: none). Reported for all subjects and apart for subjects 1-5 (the
  gait parameters were tuned on these) and 6-10 (held out).
- **walkers + drop**: the same real walks with a physically consistent swing-side drop of 6°
  and 4.5° added at every stance of one leg (``beltline.sim.augment``: an extra rotation of the
  sensor about the pelvis's forward axis, applied to the accelerometer and the gyroscope): the
  share of walks in which a hip drop is found on the right leg, on the wrong leg, and the false
  alerts on the unmodified walks.
- **virtual**: virtual-wearer sessions of the scenario library with the variety of real wearers
  (cue polarities, sway, asymmetric steps, belt-clip wobble, off-centre mounts, 50-200 Hz; seeds
  from 30 000, never used for tuning): strikes as above against the simulated ones.
- **GaitPy demo** (Czech & Patel 2019, MIT; ``pip install --no-deps gaitpy``): per gait bout
  that GaitPy found, its step count and mean cadence against Beltline's accelerometer-only
  strikes (``gait.strikes_without_gyro``).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import statistics
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from beltline.frames import GRAVITY_MS2 as G
from beltline.pipeline.evaluation import TOLERANCE_S, StrikeScore
from beltline.pipeline.gait import strikes_without_gyro
from beltline.sessions import analyze, rawcsv
from beltline.sessions.readers import load_walker, walker_meta
from beltline.sim import augment, scenarios, wearer

log = logging.getLogger(__name__)

TUNED_SUBJECTS = frozenset({1, 2, 3, 4, 5})
DROPS_DEG = (6.0, 4.5)


def _cadence(times: list[float]) -> float:
    """Steps per minute from the median interval between consecutive strikes (0.3-1.3 s):
    robust to a missed strike or a stop, the same rule for Beltline and the reference."""
    d = np.diff(np.asarray(times, float))
    d = d[(d >= 0.3) & (d <= 1.3)]
    return 60.0 / float(np.median(d)) if len(d) >= 2 else float("nan")


def _walker_tags(truth: list[tuple[float, str]], turn: tuple[float, float]) -> list[str]:
    n = len(truth)
    return ["edge" if j < 2 or j >= n - 2 else
            ("turn" if turn[0] - 0.3 <= h <= turn[1] + 0.3 else "straight")
            for j, (h, _) in enumerate(truth)]


def walkers(data_dir: Path) -> dict[str, object]:
    """Strikes, sides, cadence and episodes on the shared walkers, and the drop-added walks."""
    files = sorted(data_dir.glob("*_lb.txt"))
    if not files:
        raise FileNotFoundError(f"no *_lb.txt recordings in {data_dir}")
    scores = {"all": StrikeScore(), "subjects_1_5_tuned": StrikeScore(),
              "subjects_6_10_held_out": StrikeScore()}
    mirrored, episodes, cad_err = [], 0, []
    found = {a: {"right_leg": 0, "wrong_leg": 0, "walks": 0, "held_out_right_leg": 0,
                 "held_out_walks": 0} for a in DROPS_DEG}
    false_alerts = 0
    for f in tqdm(files, desc="walkers", unit="trial"):
        meta: dict[str, Any] = walker_meta(f)
        raw, truth_all, (a, b) = load_walker(f)
        u0, u1 = (x / 100.0 for x in meta["UTurnBoundaries"])
        res = analyze.run(raw)
        truth = [x for x in truth_all if a - TOLERANCE_S <= x[0] <= b + TOLERANCE_S]
        det = [x for x in res.steps if a - TOLERANCE_S <= x[0] <= b + TOLERANCE_S]
        tags = _walker_tags(truth, (u0, u1))
        held = int(meta["Subject"]) not in TUNED_SUBJECTS
        one = StrikeScore()
        for s in (one, scores["all"],
                  scores["subjects_6_10_held_out" if held else "subjects_1_5_tuned"]):
            s.add(det, truth, tags)
        acc = one.as_dict()["side_accuracy"]
        if isinstance(acc, float) and acc < 0.5:
            mirrored.append(f.name.replace("_lb.txt", ""))
        c_ref, c_ours = _cadence([t for t, _ in truth]), _cadence([t for t, _ in det])
        if c_ref == c_ref and c_ours == c_ours:
            cad_err.append(100.0 * (c_ours - c_ref) / c_ref)
        drops = [e for e in res.episodes if e.kind == "hip_drop"]
        episodes += len(res.episodes)
        false_alerts += len(drops)
        cal = res.pipeline.calibration
        assert cal is not None
        for amp in DROPS_DEG:
            for leg in ("left", "right"):
                side = _drop_added(raw, truth_all, leg, amp, cal.R[0], (a, b))
                d = found[amp]
                d["walks"] += 1
                d["right_leg"] += side == {leg}
                d["wrong_leg"] += bool(side - {leg})
                if held:
                    d["held_out_walks"] += 1
                    d["held_out_right_leg"] += side == {leg}
    out: dict[str, object] = {k: v.as_dict() for k, v in scores.items()}
    out["mirrored_trials"] = mirrored
    out["episodes_raised"] = episodes
    out["cadence_abs_error_pct_median"] = round(statistics.median(abs(e) for e in cad_err), 2)
    out["drop_added"] = {
        f"{amp:g}_deg": {"walks": d["walks"],
                         "found_right_leg": round(d["right_leg"] / d["walks"], 3),
                         "found_wrong_leg": round(d["wrong_leg"] / d["walks"], 3),
                         "held_out_found_right_leg": round(
                             d["held_out_right_leg"] / max(d["held_out_walks"], 1), 3)}
        for amp, d in found.items()}
    out["drop_added_false_alerts_unmodified"] = false_alerts
    return out


def _drop_added(raw: rawcsv.Raw, strikes: list[tuple[float, str]], leg: str, amp: float,
                forward: np.ndarray, span: tuple[float, float]) -> set[str]:
    """The stance legs of the hip-drop episodes found in ``raw`` with a drop added."""
    theta = augment.drop_pattern(raw.t, strikes, leg, amp)
    acc, gyr = augment.add_drop(raw.t, raw.acc, raw.gyr, forward, theta)
    res = analyze.run(rawcsv.Raw(raw.t, acc, gyr))
    return {e.side for e in res.episodes if e.kind == "hip_drop"
            and e.start_s < span[1] + 2 and e.end_s > span[0] - 2}


def _walk_tags(rec: wearer.Recording) -> list[str]:
    """Per simulated strike: "edge" (first/last two of a walk), "turn" (heading changing by
    more than 30°/s) or "straight"."""
    times = [t for t, _ in rec.steps]
    tags = []
    bouts: list[list[int]] = []
    for j, t in enumerate(times):
        if bouts and t - times[bouts[-1][-1]] <= 1.5:
            bouts[-1].append(j)
        else:
            bouts.append([j])
    edge = {j for b in bouts for j in (b[:2] + b[-2:])}
    assert rec.turn_dps is not None
    for j, t in enumerate(times):
        k = min(int(np.searchsorted(rec.t, t)), len(rec.t) - 1)
        tags.append("edge" if j in edge else ("turn" if abs(rec.turn_dps[k]) > 30
                                              else "straight"))
    return tags


VIRTUAL = ("healthy_walk", "home_walks", "short_walks", "seated_start", "walking_start",
           "lying_start", "bending_start", "slow_gait", "asymmetric_gait", "wobbly_clip",
           "chronic_drop_left", "bilateral_drop", "hip_hike_right", "hip_drop_left",
           "short_walks_drop")


def virtual(sessions: int, minutes: float, seed0: int = 30_000) -> dict[str, object]:
    """Strikes and sides on virtual wearers of varied patterns (``scenarios.varied_wearer``)."""
    score = StrikeScore()
    per: dict[str, StrikeScore] = {}
    for s in tqdm(range(sessions), desc="virtual wearers", unit="session"):
        seed = seed0 + s
        rng = np.random.default_rng(seed)
        name = VIRTUAL[s % len(VIRTUAL)]
        who, mount = scenarios.varied_wearer(rng)
        rate = float(rng.choice([50.0, 100.0, 200.0]))
        rec = wearer.simulate(scenarios.build(name, minutes, seed), rate, seed=seed,
                              wearer=scenarios.wearer_for(name, who), mount=mount)
        res = analyze.run(rawcsv.Raw(rec.t, rec.acc, rec.gyr))
        tags = _walk_tags(rec)
        score.add(res.steps, rec.steps, tags)
        per.setdefault(name, StrikeScore()).add(res.steps, rec.steps, tags)
    out = score.as_dict()
    out["per_scenario"] = {k: {m: v.as_dict()[m] for m in ("f1_100ms", "side_accuracy",
                                                            "side_unknown_share")}
                           for k, v in per.items()}
    return out


def gaitpy_files(folder: Path | None) -> tuple[Path, Path] | None:
    if folder is None:
        spec = importlib.util.find_spec("gaitpy")
        if spec is None or not spec.submodule_search_locations:
            return None
        folder = Path(next(iter(spec.submodule_search_locations))) / "demo"
    data, feats = folder / "demo_data.csv", folder / "demo_gait_features.csv"
    return (data, feats) if data.exists() and feats.exists() else None


def gaitpy(data: Path, feats: Path) -> dict[str, object]:
    import pandas as pd

    raw = pd.read_csv(data, skiprows=99, names=["ts", "x", "y", "z"], usecols=[0, 1, 2, 3])
    stamp = pd.to_datetime(raw["ts"], format="%Y-%m-%d %H:%M:%S:%f")
    t = ((stamp - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(float)  # unix s
    acc = raw[["x", "y", "z"]].to_numpy(float) * G
    ours = np.array(strikes_without_gyro(t, acc))
    f = pd.read_csv(feats)
    rows = []
    for _, bout in f.groupby("bout_number"):
        ics = bout["IC"].to_numpy() / 1000.0
        start = pd.Timestamp(bout["bout_start_time"].iloc[0]).value / 1e9
        end = start + float(bout["bout_length_sec"].iloc[0])
        mine = ours[(ours >= start) & (ours <= end)]
        matched = sum(np.min(np.abs(mine - x)) <= 0.2 for x in ics) if len(mine) else 0
        rows.append({"bout": int(bout["bout_number"].iloc[0]),
                     "gaitpy_steps": int(bout["steps"].iloc[0]), "beltline_steps": len(mine),
                     "gaitpy_cadence": float(bout["cadence"].mean()),
                     "beltline_cadence": _cadence(list(mine)),
                     "ics_matched_200ms": int(matched), "gaitpy_ics": len(ics)})
    df = pd.DataFrame(rows)
    err = 100 * (df["beltline_cadence"] - df["gaitpy_cadence"]) / df["gaitpy_cadence"]
    return {"bouts": len(df), "gaitpy_steps": int(df["gaitpy_steps"].sum()),
            "beltline_steps": int(df["beltline_steps"].sum()),
            "cadence_error_pct_median": round(float(err.median()), 2),
            "cadence_abs_error_pct_median": round(float(err.abs().median()), 2),
            "gaitpy_ics_matched_within_200ms": round(
                float(df["ics_matched_200ms"].sum() / df["gaitpy_ics"].sum()), 3),
            "per_bout": df.round(2).to_dict("records")}


def _line(name: str, d: dict[str, object]) -> str:
    return (f"{name:<24} P/R/F1@100 {d['precision_100ms']}/{d['recall_100ms']}/"
            f"{d['f1_100ms']}  F1@50 {d['f1_50ms']} F1@150 {d['f1_150ms']}  side "
            f"{d['side_accuracy']} (unknown {d['side_unknown_share']})  offset "
            f"{d['offset_ms_median']} ms  recall turn {d.get('recall_turn')} edge "
            f"{d.get('recall_edge')} straight {d.get('recall_straight')}")


def main(walkers_dir: Path, gaitpy_dir: Path | None, sessions: int = 20,
         minutes: float = 4.0) -> dict[str, object]:
    logging.getLogger("beltline.pipeline").setLevel(logging.WARNING)  # one line per trial
    result: dict[str, object] = {}
    lines: list[str] = []
    if walkers_dir.is_dir():
        w = walkers(walkers_dir)
        result["walkers"] = w
        for k in ("all", "subjects_1_5_tuned", "subjects_6_10_held_out"):
            d = w[k]
            assert isinstance(d, dict)
            lines.append(_line(f"walkers {k}", d))
        lines.append(f"walkers: mirrored trials {w['mirrored_trials']}, episodes raised "
                     f"{w['episodes_raised']}, cadence |error| median "
                     f"{w['cadence_abs_error_pct_median']} %")
        drops = w["drop_added"]
        assert isinstance(drops, dict)
        for k, d in drops.items():
            lines.append(f"walkers + {k} drop at every stance of one leg: found on the right "
                         f"leg in {100 * d['found_right_leg']:.0f} % of {d['walks']} walks "
                         f"(held out {100 * d['held_out_found_right_leg']:.0f} %), wrong leg "
                         f"{100 * d['found_wrong_leg']:.0f} %")
        lines.append(f"walkers unmodified: {w['drop_added_false_alerts_unmodified']} hip-drop "
                     "alert(s)")
    else:
        log.warning("walkers skipped: %s not found", walkers_dir)
    if sessions:
        v = virtual(sessions, minutes)
        result["virtual"] = v
        lines.append(_line(f"virtual ({sessions} sessions)", v))
        per = v["per_scenario"]
        assert isinstance(per, dict)
        lines += [f"  {k:<18} F1@100 {d['f1_100ms']} side {d['side_accuracy']} unknown "
                  f"{d['side_unknown_share']}" for k, d in per.items()]
    files = gaitpy_files(gaitpy_dir)
    if files:
        gp: dict[str, Any] = gaitpy(*files)
        result["gaitpy_demo"] = gp
        lines.append(f"GaitPy demo ({gp['bouts']} bouts, accelerometer only): steps "
                     f"{gp['beltline_steps']} vs GaitPy {gp['gaitpy_steps']}, cadence |error| "
                     f"median {gp['cadence_abs_error_pct_median']} %, GaitPy's contacts "
                     f"matched within 200 ms: {100 * gp['gaitpy_ics_matched_within_200ms']:.0f}"
                     " %")
    else:
        log.warning("GaitPy demo skipped: not found (pip install --no-deps gaitpy)")
    print("\n".join(lines))
    print(json.dumps(result))
    return result
