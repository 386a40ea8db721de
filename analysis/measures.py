"""Measures of one session: per-stance drop by leg, left/right difference, cadence, the drop
over the walk (fatigue), standing tilt — and the plain-language summary built only from them.

Every number the summary says is a row of ``session_measures(s)`` (the report prints that table), in
the very same formatting, so a reader can find each one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from beltline import words

from .session import SWING, Session

# A side is reported as dropping beyond its threshold when at least this share of its stances
# do: the threshold (the wearer's calibration-walk drop + 2.5°) is one that 99 % of stances
# of the shared healthy walkers stay below (pipeline/settings.py), so 10 % is far outside
# normal walking's own scatter.
REPORT_ABOVE_PCT = 10.0
MIN_MINUTES = 6  # one-minute means needed before anything is said about the drop over time
MIN_STANCES_PER_MINUTE = 5
STEP_MIN_DEG = 1.0  # a change in the drop smaller than this is not worth words
TREND_MIN_DEG_PER_10MIN = 0.5


def sample_period(s: Session) -> float:
    if "period" not in s.cache:
        t = s.samples["t_s"].to_numpy()
        s.cache["period"] = float(np.median(np.diff(t))) if len(t) > 1 else 0.01
    return float(s.cache["period"])  # type: ignore[arg-type]


def _walking(s: Session) -> np.ndarray:
    if "walking" not in s.cache:
        s.cache["walking"] = (s.samples["activity"] == "walking").to_numpy(bool)
    w = s.cache["walking"]
    assert isinstance(w, np.ndarray)
    return w


def walking_minutes(s: Session) -> float:
    return float(_walking(s).sum()) * sample_period(s) / 60.0


def walking_clock(s: Session, t: np.ndarray | pd.Series) -> np.ndarray:
    """Minutes of walking done by each time ``t`` (the clock fatigue is read against)."""
    if "clock" not in s.cache:
        s.cache["clock"] = np.cumsum(_walking(s), dtype=float) * (sample_period(s) / 60.0)
    cum = s.cache["clock"]
    assert isinstance(cum, np.ndarray)
    return np.interp(np.asarray(t, float), s.samples["t_s"].to_numpy(float), cum)


def stance_table(s: Session) -> pd.DataFrame:
    """Per stance leg (index ``left``/``right``): number of single-leg stances, mean and
    90th-percentile swing-side drop, the threshold and the share of stances above it
    (percent), and the mean swing-side rise in mid-stance (a hip hike when positive)."""
    thr = s.thresholds
    rows = []
    for side in ("left", "right"):
        d = s.steps.loc[s.steps["side"] == side, "drop_deg"].dropna()
        hike = s.steps.loc[s.steps["side"] == side, "hike_deg"].dropna() \
            if "hike_deg" in s.steps else pd.Series(dtype=float)
        over = float((d > thr[side]).mean() * 100) if len(d) else 0.0
        rows.append({"stance": side, "swing side": SWING[side], "stances": len(d),
                     "mean drop (deg)": round(float(d.mean()), 2) if len(d) else math.nan,
                     "p90 drop (deg)": round(float(d.quantile(0.9)), 2) if len(d) else math.nan,
                     "threshold (deg)": round(thr[side], 1), "above (%)": round(over, 1),
                     "mean hike (deg)": round(float(hike.mean()), 2) if len(hike) else math.nan})
    return pd.DataFrame(rows).set_index("stance")


def stance_table_for_people(s: Session) -> pd.DataFrame:
    """``stance_table`` with rows and columns a person reads."""
    tab = stance_table(s).drop(columns=["swing side"])
    tab.index = [words.stance_label(side) for side in tab.index]
    tab.index.name = "stance leg"
    return tab.rename(columns={"stances": "single-leg stances",
                               "mean drop (deg)": "mean swing-side drop (°)",
                               "p90 drop (deg)": "90th percentile drop (°)",
                               "threshold (deg)": "threshold (°)",
                               "above (%)": "stances above threshold (%)"})


def symmetry_index(s: Session) -> float:
    """Robinson's symmetry index of the mean swing-side drop, percent: 100 (L - R) / mean(L, R)
    (0 = symmetric; + = more drop in left stance). Unstable when both drops are small (a
    ratio of small numbers): the report uses ``asymmetry`` in degrees instead."""
    d = s.steps.dropna(subset=["drop_deg"])
    left = d.loc[d["side"] == "left", "drop_deg"].mean()
    right = d.loc[d["side"] == "right", "drop_deg"].mean()
    if not (left == left and right == right) or left + right == 0:
        return math.nan
    return float(100.0 * (left - right) / (0.5 * (left + right)))


def asymmetry(s: Session) -> dict[str, float]:
    """Left-leg minus right-leg stance mean swing-side drop (degrees) with its 95 % confidence
    interval (Welch: the two legs' stances as independent samples)."""
    d = s.steps.dropna(subset=["drop_deg"])
    a = d.loc[d["side"] == "left", "drop_deg"].to_numpy(float)
    b = d.loc[d["side"] == "right", "drop_deg"].to_numpy(float)
    if len(a) < 2 or len(b) < 2:
        return {"diff_deg": math.nan, "low_deg": math.nan, "high_deg": math.nan}
    diff = float(a.mean() - b.mean())
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return {"diff_deg": diff, "low_deg": diff - 1.96 * se, "high_deg": diff + 1.96 * se}


def cadence(s: Session) -> float:
    """Median cadence over the session's steps, steps per minute."""
    c = s.steps["cadence_spm"].dropna()
    return float(c.median()) if len(c) else math.nan


def drop_by_minute(s: Session, side: str) -> pd.DataFrame:
    """The swing-side drop in ``side`` stance per minute of walking: ``minute`` (the bin's
    centre, minutes of walking done), ``stances`` and ``mean_deg``. Minutes with fewer than
    ``MIN_STANCES_PER_MINUTE`` stances are left out; long sessions use wider bins (at most
    600 of them)."""
    st = s.steps[s.steps["side"] == side].dropna(subset=["drop_deg"])
    if not len(st):
        return pd.DataFrame(columns=["minute", "stances", "mean_deg"])
    clock = walking_clock(s, st["t_s"].to_numpy())
    width = max(1.0, math.ceil(float(clock.max()) / 600.0))
    b = np.floor(clock / width)
    g = pd.DataFrame({"bin": b, "d": st["drop_deg"].to_numpy(float)}).groupby("bin")["d"]
    out = pd.DataFrame({"stances": g.size(), "mean_deg": g.mean()})
    out = out[out["stances"] >= MIN_STANCES_PER_MINUTE]
    out.insert(0, "minute", (out.index.to_numpy(float) + 0.5) * width)
    return out.reset_index(drop=True)


def theil_sen(x: np.ndarray, y: np.ndarray, z: float = 1.96) -> tuple[float, float, float,
                                                                       float]:
    """Theil–Sen line: the median of all pairwise slopes (Theil 1950; Sen, J. Am. Stat. Assoc.
    63:1379, 1968), its distribution-free 95 % confidence interval from Kendall's tau (Sen
    1968: the slopes ranked (N -/+ z·sqrt(n(n-1)(2n+5)/18))/2 among the N pairwise slopes)
    and the intercept median(y - slope·x). Robust to a minority of outlying points."""
    n = len(x)
    i, j = np.triu_indices(n, 1)
    dx = x[j] - x[i]
    ok = dx != 0
    slopes = np.sort((y[j] - y[i])[ok] / dx[ok])
    m = len(slopes)
    if m == 0:
        return math.nan, math.nan, math.nan, math.nan
    slope = float(np.median(slopes))
    c = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo = float(slopes[max(round((m - c) / 2.0), 0)])
    hi = float(slopes[min(round((m + c) / 2.0), m - 1)])
    return slope, lo, hi, float(np.median(y - slope * x))


def _bic(sse: float, n: int, k: int) -> float:
    # Schwarz 1978: n ln(SSE/n) + k ln n, for Gaussian residuals; floor keeps ln finite
    return n * math.log(max(sse, 1e-9) / n) + k * math.log(n)


def fatigue_trend(s: Session, side: str) -> dict[str, object]:
    """How the drop in ``side`` stance changed over the walk, from one-minute means (so a
    step change in the drop is not mistaken for a trend, and single stances weigh little).

    Three descriptions compete by BIC (Schwarz 1978): steady (one mean), a gradual trend
    (Theil–Sen line), a step (two means around the best single change point, found by least
    squares as in Hinkley, Biometrika 57:1, 1970). ``model`` is ``"too short"`` (fewer than
    ``MIN_MINUTES`` minutes), ``"steady"``, ``"trend"`` (only when the slope's 95 % interval
    excludes 0 and it is at least 0.5° per 10 min) or ``"step"`` (at least 1°).
    Always: ``slope_deg_per_10min`` with ``slope_low``/``slope_high`` (Theil–Sen), ``n``
    (stances), ``minutes`` (one-minute means); for a step: ``change_minute``, ``before_deg``,
    ``after_deg``."""
    key = f"fatigue_{side}"
    if key in s.cache:
        return dict(s.cache[key])  # type: ignore[call-overload]
    res = _fatigue_trend(s, side)
    s.cache[key] = dict(res)
    return res


def _fatigue_trend(s: Session, side: str) -> dict[str, object]:
    m = drop_by_minute(s, side)
    n_st = int(s.steps.loc[s.steps["side"] == side, "drop_deg"].notna().sum())
    res: dict[str, object] = {"model": "too short", "n": n_st, "minutes": len(m),
                              "slope_deg_per_10min": math.nan, "slope_low": math.nan,
                              "slope_high": math.nan, "intercept_deg": math.nan}
    if len(m) < MIN_MINUTES:
        return res
    x = m["minute"].to_numpy(float)
    y = m["mean_deg"].to_numpy(float)
    slope, lo, hi, icpt = theil_sen(x, y)
    res.update(slope_deg_per_10min=10 * slope, slope_low=10 * lo, slope_high=10 * hi,
               intercept_deg=icpt)
    n = len(y)
    sse0 = float(((y - y.mean()) ** 2).sum())
    sse1 = float(((y - icpt - slope * x) ** 2).sum())
    cs, cs2 = np.cumsum(y), np.cumsum(y * y)
    best_k, sse2 = 0, math.inf
    for k in range(2, n - 1):  # at least two minutes on each side of the change
        left = cs2[k - 1] - cs[k - 1] ** 2 / k
        right = (cs2[-1] - cs2[k - 1]) - (cs[-1] - cs[k - 1]) ** 2 / (n - k)
        if left + right < sse2:
            best_k, sse2 = k, float(left + right)
    bics = {"steady": _bic(sse0, n, 1), "trend": _bic(sse1, n, 2)}
    if best_k:
        bics["step"] = _bic(sse2, n, 3)
    model = min(bics, key=lambda k: bics[k])
    if (model == "trend" and not (lo > 0 or hi < 0)) or \
            (model == "trend" and abs(10 * slope) < TREND_MIN_DEG_PER_10MIN):
        model = "steady"
    if model == "step":
        before, after = float(y[:best_k].mean()), float(y[best_k:].mean())
        if abs(after - before) < STEP_MIN_DEG:
            model = "steady"
        else:
            res.update(change_minute=float(0.5 * (x[best_k - 1] + x[best_k])),
                       before_deg=before, after_deg=after)
    res["model"] = model
    return res


def standing_tilt(s: Session) -> pd.Series:
    """Tilt samples while standing (degrees from the neutral)."""
    if "standing_tilt" not in s.cache:
        s.cache["standing_tilt"] = s.samples.loc[s.samples["activity"] == "standing",
                                                 "tilt_deg"].dropna()
    tilt = s.cache["standing_tilt"]
    assert isinstance(tilt, pd.Series)
    return tilt


def episode_table(s: Session) -> pd.DataFrame:
    """The episodes as a person reads them (episode in words, times as minutes:seconds)."""
    e = s.episodes
    return pd.DataFrame({
        "episode": [words.episode(str(k), str(sd), capital=True)
                    for k, sd in zip(e["kind"], e["side"], strict=True)],
        "start": [words.clock(float(t)) for t in e["start_s"]],
        "end": [words.clock(float(t)) for t in e["end_s"]],
        "minutes": ((e["end_s"] - e["start_s"]) / 60.0).round(2).to_numpy(),
        "peak (°)": e["peak_deg"].astype(float).round(1).to_numpy(),
        "mean (°)": e["mean_deg"].astype(float).round(1).to_numpy(),
        "activity": e["activity"].to_numpy(), "steps": e["steps"].to_numpy()})


@dataclass(frozen=True)
class Measure:
    """One number of the session: ``key`` for code, ``label`` for people, ``text`` exactly as
    the summary says it."""

    key: str
    label: str
    text: str


def _f(x: float, fmt: str = ".1f") -> str:
    return format(x, fmt) if x == x else "–"


def session_measures(s: Session) -> list[Measure]:
    """Every number the summary uses, labelled (the report's "Session measures" table)."""
    out: list[Measure] = []

    def add(key: str, label: str, text: str) -> None:
        out.append(Measure(key, label, text))

    walk = walking_minutes(s)
    add("walking_min", "walking (minutes)", _f(walk))
    rows = stance_table(s).to_dict("index")
    for side in ("left", "right"):
        row = rows[side]
        name = words.stance_label(side)
        add(f"{side}_stances", f"{name}: single-leg stances", str(int(row["stances"])))
        add(f"{side}_mean", f"{name}: mean swing-side drop (°)", _f(row["mean drop (deg)"]))
        add(f"{side}_threshold", f"{name}: threshold (°)", _f(row["threshold (deg)"]))
        add(f"{side}_above", f"{name}: stances above threshold (%)", _f(row["above (%)"]))
        st = s.steps[(s.steps["side"] == side) & (s.steps["drop_deg"] > row["threshold (deg)"])]
        if len(st):
            q1 = float(np.quantile(walking_clock(s, st["t_s"].to_numpy()), 0.25))
            add(f"{side}_above_q1", f"{name}: a quarter of the stances above threshold came "
                "before walking minute", _f(q1, ".0f"))
        f = fatigue_trend(s, side)
        add(f"{side}_fatigue", f"{name}: drop over the walk (one-minute means)",
            str(f["model"]))
        if f["model"] != "too short":
            add(f"{side}_slope", f"{name}: Theil–Sen slope (° per 10 min of walking)",
                _f(float(f["slope_deg_per_10min"])))  # type: ignore[arg-type]
            add(f"{side}_slope_ci", f"{name}: slope's 95 % interval (°/10 min)",
                f"{_f(float(f['slope_low']))} to {_f(float(f['slope_high']))}")  # type: ignore
        if f["model"] == "step":
            add(f"{side}_change_min", f"{name}: change point (walking minute)",
                _f(float(f["change_minute"]), ".0f"))  # type: ignore[arg-type]
            add(f"{side}_before", f"{name}: mean drop before the change (°)",
                _f(float(f["before_deg"])))  # type: ignore[arg-type]
            add(f"{side}_after", f"{name}: mean drop after the change (°)",
                _f(float(f["after_deg"])))  # type: ignore[arg-type]
    asym = asymmetry(s)
    add("asym", "left-leg minus right-leg stance mean drop (°)", _f(asym["diff_deg"], "+.1f"))
    add("asym_ci", "its 95 % interval (°)",
        f"{_f(asym['low_deg'], '+.1f')} to {_f(asym['high_deg'], '+.1f')}")
    e = s.episodes
    for (kind, sd), g in e.groupby(["kind", "side"]) if len(e) else []:
        key = f"ep_{kind}_{sd}"
        label = words.episode(str(kind), str(sd))
        add(f"{key}_n", f"{label}: episodes", str(len(g)))
        add(f"{key}_min", f"{label}: minutes in all",
            _f(float((g["end_s"] - g["start_s"]).sum()) / 60))
    add("cadence", "cadence (steps per minute, median)", _f(cadence(s), ".0f"))
    tilt = standing_tilt(s)
    if len(tilt):
        add("tilt_within", "standing: time within 2° of your neutral tilt (%)",
            _f(float((tilt.abs() <= 2.0).mean() * 100), ".0f"))
        add("tilt_median", "standing: median tilt (°, + anterior)",
            _f(float(tilt.median()), "+.1f"))
    return out


def measures_table(s: Session, rows: list[Measure] | None = None) -> pd.DataFrame:
    return pd.DataFrame([(m.label, m.text) for m in (rows if rows is not None
                                                       else session_measures(s))],
                        columns=["measure", "value"])


def summary(s: Session, rows: list[Measure] | None = None) -> list[str]:
    """The report's first lines in plain language; every number is a ``session_measures``
    row (``rows``: those measures, if already computed)."""
    m = {x.key: x.text for x in (rows if rows is not None else session_measures(s))}
    lines: list[str] = []
    walk = m["walking_min"]
    tab = stance_table(s).to_dict("index")
    beyond = [side for side in ("left", "right")
              if tab[side]["stances"] and tab[side]["above (%)"] >= REPORT_ABOVE_PCT]
    for side in beyond:
        when = ""
        if f"{side}_above_q1" in m:
            q1 = float(m[f"{side}_above_q1"])
            when = (f", mostly after walking minute {m[f'{side}_above_q1']}"
                    if q1 > 0.25 * walking_minutes(s) else ", throughout the walk")
        lines.append(
            f"In {walk} min of walking, {words.standing_on(side)} your pelvis dropped on the "
            f"{SWING[side]} side by more than {m[f'{side}_threshold']}° in "
            f"{m[f'{side}_above']}% of stances{when}.")
    has_drop_episode = len(s.episodes) and (s.episodes["kind"] == "hip_drop").any()
    shares = (f"the swing side dropped more than the threshold in {m['left_above']}% of "
              f"left-leg and {m['right_above']}% of right-leg stances")
    stances = tab["left"]["stances"] + tab["right"]["stances"]
    if not beyond and stances and not has_drop_episode:
        lines.append(f"In {walk} min of walking your pelvis stayed within your normal range, "
                     f"with no sign of a hip drop: {shares}.")
    elif not beyond and stances:
        lines.append(f"In {walk} min of walking {shares}, but some came in sustained "
                     "stretches (see the episodes).")
    e = s.episodes
    if len(e):
        parts = [f"{m[f'ep_{k}_{sd}_n']} {words.episode(str(k), str(sd))} "
                 f"({m[f'ep_{k}_{sd}_min']} min)"
                 for (k, sd), _ in e.groupby(["kind", "side"])]
        lines.append(f"Sustained episodes: {'; '.join(parts)}.")
    else:
        lines.append("No sustained episodes.")
    if m["asym"] != "–":
        lines.append(
            f"Mean swing-side drop: {m['left_mean']}° in left-leg and {m['right_mean']}° in "
            f"right-leg stance, a difference of {m['asym']}° (95 % interval {m['asym_ci']}°). "
            "No published normal band for this left/right difference measured by one belt "
            "sensor is known to us, so it is not judged here: compare it with your earlier "
            "sessions (beltline trends).")
    if m["cadence"] != "–":
        lines.append(f"Cadence: {m['cadence']} steps per minute.")
    for side in ("left", "right"):
        model = m[f"{side}_fatigue"]
        where = f"The drop in {words.stance(side)}"
        if model == "trend":
            verb = "grew" if float(m[f"{side}_slope"]) > 0 else "shrank"
            lines.append(f"{where} {verb} steadily, by {m[f'{side}_slope'].lstrip('-')}° per "
                         f"10 min of walking (95 % interval {m[f'{side}_slope_ci']}).")
        elif model == "step":
            lines.append(f"{where} changed from {m[f'{side}_before']}° to "
                         f"{m[f'{side}_after']}° at walking minute {m[f'{side}_change_min']}: "
                         "a step, not a gradual trend.")
        elif model == "steady":
            lines.append(f"{where} stayed steady over the walk.")
    if "tilt_within" in m:
        lines.append(f"While standing, your tilt was within 2° of your neutral "
                     f"{m['tilt_within']}% of the time (median {m['tilt_median']}°).")
    return lines
