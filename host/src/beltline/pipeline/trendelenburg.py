"""The single-leg stance (Trendelenburg) test from a recording: quiet standing, one leg ~30 s,
both feet, the other leg ~30 s, in either order (Hardcastle & Nade 1985).

How the stances are found. To stand on one leg the body must bring its centre of mass over
that foot: the pelvis travels 5-10 cm sideways toward the stance foot before the other foot
lifts, and back after it comes down. The sideways velocity (the accelerometer's mediolateral
linear acceleration, gravity removed with the attitude, integrated and freed of drift) shows
each shift as a pulse whose integral is the shift; a shift toward one side opens a single-leg
stance on that side, a shift back of at least a third of it closes it, and a shift back that
is undone within ``TOUCH_S`` is a brief touch-down (the hold ends there, the stance goes on).
Without shifts (a recording without that motion) the stances are the two longest stretches
where the pelvis leaves its neutral or sways as on one leg (``_fallback``).

What is measured per stance leg, with the swing side's drop d(t) = obliquity signed toward the
swing side (+ = the swing side lower): its mean over the hold (lift to first touch-down), its
largest 0.5-s mean, the time from the lift to the first stretch of ``test_dwell_s`` where the
1-s mean stays beyond the threshold, and the sway (RMS about the 2-s trend). Sign-free: the
stance side is where the weight went, so the drop needs no left/right of the sensor; only the
legs' names do (``bodyframe``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from beltline import words
from beltline.exercise_records import TestLeg, TestResult
from beltline.pipeline.bodyframe import Frame, Motion, attitude, lowpass, realign, up0
from beltline.pipeline.calibration import angles_deg, frame
from beltline.pipeline.exercise_settings import ExerciseSettings
from beltline.pipeline.signals import DT, RATE_HZ

log = logging.getLogger(__name__)

SOURCE = ("Hardcastle & Nade 1985 (JBJS-B 67:741): held level for 30 s is negative; a drop of "
          "the non-stance side of ~2 cm across the pelvis (4-5 deg) is the sign")
ACC_DETREND_S = 4.0
DETREND_S = 6.0  # the velocity's drift is removed over this window
SHIFT_MIN_M = 0.015  # a shift (or a touch-down) moves the pelvis at least this far
PULSE_MIN_MS = 0.025  # sideways speed that marks a shift (the sway stays well below)
TOUCH_S = 2.5  # a shift back undone within this long is a touch-down, not the end
MIN_STANCE_S = 3.0
TOUCH_AFTER_S = 1.0  # the settling after the lift is not a touch-down
TOUCH_FRACTION = 0.25  # a touch-down takes back at least this share of the shift
TOUCH_UNDONE = 0.4  # ...and at least this share of that is undone right after
# a touch-down catches the balance: about as fast as the shift onto the leg (0.85 of its peak
# speed; the sway's excursions, as large, are slower: of 300 virtual tests, 8 took one for a
# touch at 0.5, 2 at 0.7; the real touch-downs ran at 0.76-2 times the shift's speed)
TOUCH_SPEED = 0.85
NEUTRAL_KEEP_S = 2.0  # a shift may start this soon after the quiet standing began
MAX_CANDIDATES = 30
SHIFT_BEFORE_LIFT_S = 2.0  # a shift takes at most this long before the foot lifts


@dataclass
class Stance:
    """A single-leg stance found: ``side`` +1 (toward the pelvis's left) or -1, grid indices of
    the lift (the weight is over the foot), the first and the last coming down."""

    side: float
    lift: int
    first_down: int
    down: int
    shift_m: float
    touches: int = 0
    notes: list[str] = field(default_factory=list)


def lateral_velocity(m: Motion, R: np.ndarray) -> np.ndarray:
    """Sideways velocity of the sensor (m/s, + toward the pelvis's left), drift removed: the
    integral of the linear acceleration (gravity removed with the attitude) minus its moving
    median over ``DETREND_S`` (a shift lasts about a second, so the median follows the drift
    and ignores the shifts)."""
    return horizontal_velocity(m, R, 1)


def speed_noise(v: np.ndarray) -> float:
    """A robust standard deviation (median absolute deviation)."""
    return 1.4826 * float(np.median(np.abs(v - np.median(v))))


def shift_threshold(v: np.ndarray, neutral: tuple[int, int]) -> float:
    """The sideways speed (m/s) that marks a shift: 3.5 times the noise of the quiet standing
    (of the whole of ``v`` if the quiet standing is shorter than a second)."""
    i0, i1 = neutral
    return max(PULSE_MIN_MS, 3.5 * speed_noise(v[i0:i1] if i1 - i0 > RATE_HZ else v))


def pulses(v: np.ndarray, thr: float) -> list[tuple[int, int, float]]:
    """Shifts in ``v``: (start, end, displacement m) of each stretch beyond ``thr``, widened
    to where the speed falls below a tenth of the stretch's peak (the peak speed of a pulse
    is ``peak_speed``)."""
    out: list[tuple[int, int, float]] = []
    above = np.abs(v) > thr
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(int), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        peak = float(np.max(np.abs(v[a:b])))
        s = np.sign(v[a + int(np.argmax(np.abs(v[a:b])))])
        lo = 0.1 * peak
        while a > 0 and s * v[a - 1] > lo:
            a -= 1
        while b < len(v) and s * v[b] > lo:
            b += 1
        disp = float(np.sum(v[a:b]) * DT)
        if out and out[-1][1] >= a and np.sign(out[-1][2]) == np.sign(disp):
            a0 = out[-1][0]  # one shift in two stretches: merge
            out[-1] = (a0, b, float(np.sum(v[a0:b]) * DT))
        elif out and out[-1][1] >= a:
            out.append((max(a, out[-1][1]), b, disp))
        else:
            out.append((a, b, disp))
    return out


def stances_from_shifts(v: np.ndarray, neutral: tuple[int, int]) -> list[Stance]:
    """Single-leg stances from the sideways shifts after the start of the neutral.

    Sway moves the pelvis sideways too (1-3 cm at a time on one leg), so the stances are the
    best-matching pairs of a shift and a shift back: one pair per leg, on opposite sides, in
    either order, each stance at least ``MIN_STANCE_S`` long, scored by the smaller of each
    pair's two shifts (a shift that is not undone, or a sway excursion, scores little). Inside
    a stance a shift back undone within ``TOUCH_S`` is a touch-down."""
    # the shifts stand out of the quiet standing's noise (on one leg the pelvis sways more, and
    # a slow 4-cm shift moves at little more than that sway); a touch-down must stand out of
    # the whole recording's, sway on one leg included
    thr_touch = max(PULSE_MIN_MS, 3.5 * speed_noise(v))
    thr = min(thr_touch, shift_threshold(v, neutral))
    start = neutral[0] + int(NEUTRAL_KEEP_S * RATE_HZ)
    ps = [p for p in pulses(v, thr) if p[0] >= start and abs(p[2]) >= SHIFT_MIN_M]
    if len(ps) > MAX_CANDIDATES:  # the largest shifts; keep their time order
        keep = sorted(sorted(range(len(ps)), key=lambda i: -abs(ps[i][2]))[:MAX_CANDIDATES])
        ps = [ps[i] for i in keep]
    n = len(ps)
    peak = [float(np.max(np.abs(v[p[0]:p[1]]))) for p in ps]
    sign = [float(np.sign(p[2])) for p in ps]
    size = [abs(p[2]) for p in ps]
    min_gap = int(MIN_STANCE_S * RATE_HZ)

    def pairs_from(i0: int) -> list[tuple[float, int, int | None]]:
        out: list[tuple[float, int, int | None]] = []
        for i in range(i0, n):
            out.append((0.8 * size[i], i, None))  # a stance the recording ends in
            for j in range(i + 1, n):
                if sign[j] == -sign[i] and ps[j][0] - ps[i][1] >= min_gap:
                    out.append((2.0 * min(size[i], size[j]), i, j))
        return out

    best: tuple[float, list[tuple[int, int | None]]] = (0.0, [])
    for sc_a, i, j in pairs_from(0):
        if sc_a > best[0]:
            best = (sc_a, [(i, j)])
        if j is None:
            continue
        for sc_b, k, m_ in pairs_from(j + 1):
            if sign[k] == -sign[i] and sc_a + sc_b > best[0]:
                best = (sc_a + sc_b, [(i, j), (k, m_)])
    out = []
    for i, j in best[1]:
        lift = ps[i][1]
        down = ps[j][0] if j is not None else len(v) - 1
        st = Stance(sign[i], lift, down, down, size[i])
        if j is None:
            st.notes.append("the recording ends during this stance")
        # touch-downs: a quick shift back (a quarter of the stance's shift or more, nearly as
        # fast: sway is slower), mostly undone soon
        inner = [q for q in range(i + 1, j if j is not None else n)]
        q = 0
        while q < len(inner) - 1:
            a_, b_ = inner[q], inner[q + 1]
            if sign[a_] == -sign[i] and sign[b_] == sign[i] and \
                    size[a_] >= TOUCH_FRACTION * size[i] and size[b_] >= TOUCH_UNDONE * size[a_] \
                    and peak[a_] >= max(TOUCH_SPEED * peak[i], thr_touch) and \
                    ps[a_][0] - lift >= TOUCH_AFTER_S * RATE_HZ and \
                    ps[b_][0] - ps[a_][1] <= TOUCH_S * RATE_HZ:
                if st.touches == 0:
                    st.first_down = ps[a_][0]
                st.touches += 1
                q += 2
            else:
                q += 1
        out.append(st)
    return out


def _fallback(obl: np.ndarray, tilt: np.ndarray, gyr: np.ndarray,
              neutral: tuple[int, int]) -> list[Stance]:
    """No shifts: the two longest stretches (at least ``MIN_STANCE_S``) where the posture
    leaves the neutral by more than 1.5 deg or the sway is at least twice the neutral's. The
    side is the one the pelvis drops toward (a drop is assumed, as the test looks for)."""
    i0, i1 = neutral
    dev = np.hypot(lowpass(obl, 1.0), lowpass(tilt, 1.0))
    sway = np.sqrt(lowpass(np.nan_to_num(np.sum((gyr - lowpass(gyr, 1.0)) ** 2, axis=1)),
                           1.0))
    ref = float(np.median(sway[i0:i1])) if i1 > i0 else float(np.median(sway))
    on = (dev > 1.5) | (sway > 2.0 * max(ref, 1e-3))
    on[: i1] = False
    on = lowpass(on.astype(float), 2.0) > 0.5
    edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
    runs = sorted(zip(edges[::2], edges[1::2], strict=True), key=lambda r: r[0] - r[1])[:2]
    out = []
    for a, b in sorted(runs):
        if (b - a) * DT < MIN_STANCE_S:
            continue
        mid = float(np.nanmedian(obl[a:b]))
        side = 1.0 if mid >= 0 else -1.0  # right side lower: left stance (drop assumed)
        down = min(int(b), len(obl) - 1)  # a sample, as the shifts' stances (run ends at b)
        s = Stance(side, int(a), down, down, 0.0)
        s.notes.append("no weight shift was seen: the stance side is taken from the "
                       "pelvis's lean, assuming it drops toward the swing side")
        out.append(s)
    if len(out) == 2 and out[0].side == out[1].side:  # the protocol: one stance per leg
        k = int(np.argmin([abs(float(np.nanmedian(obl[s.lift:s.down]))) for s in out]))
        out[k].side = -out[k].side
    return out


def horizontal_velocity(m: Motion, R: np.ndarray, axis: int) -> np.ndarray:
    """Velocity of the sensor along pelvis axis ``axis`` (0 forward, 1 left), m/s, drift
    removed as in ``lateral_velocity``."""
    from scipy.ndimage import median_filter

    lin = m.acc - m.g * m.up
    a = np.nan_to_num(lin @ R[axis])
    # the attitude's small lag leaves a slowly changing offset in the acceleration (a few
    # hundredths of m/s² after a posture change): its moving median goes first
    a = a - median_filter(a, size=int(ACC_DETREND_S * RATE_HZ) | 1, mode="nearest")
    v = np.cumsum(a) * DT
    w = int(DETREND_S * RATE_HZ) | 1
    return lowpass(v - median_filter(v, size=w, mode="nearest"), 0.1)


def ml_from_shifts(m: Motion, R: np.ndarray, ends_only: bool = False) -> np.ndarray | None:
    """The mediolateral line (sensor coordinates, sign arbitrary) from the weight shifts: the
    principal direction of the horizontal displacements of the fast sideways moves (the shifts
    are 5-10 cm each, sway moves 1-3 cm; none when no clear line shows). ``ends_only``: only
    the first and the last such move (onto the leg and off it: an exercise's reps move the
    sensor too, and a unit on the hip travels forward and back as the pelvis turns)."""
    vx, vy = horizontal_velocity(m, R, 0), horizontal_velocity(m, R, 1)
    speed = np.hypot(vx, vy)
    speed[: m.neutral[0] + int(NEUTRAL_KEEP_S * RATE_HZ)] = 0.0
    thr = max(PULSE_MIN_MS, 3.5 * speed_noise(speed))
    disp = []
    for a, b, _ in pulses(speed, thr):
        d = np.array([np.sum(vx[a:b]), np.sum(vy[a:b])]) * DT
        if np.linalg.norm(d) >= 2 * SHIFT_MIN_M:
            disp.append(d)
    if ends_only and len(disp) > 2:
        disp = [disp[0], disp[-1]]
    if len(disp) < 2:
        return None
    d = np.array(disp)
    w = np.sum(d * d, axis=1)
    val, vec = np.linalg.eigh((d * w[:, None]).T @ d)
    if val[-1] < 4.0 * val[-2]:
        return None
    e = vec[:, -1]
    return e[0] * R[0] + e[1] * R[1]


def analyse(m: Motion, fr: Frame, cfg: ExerciseSettings) -> TestResult:
    """The test's result per stance leg (see the module docstring)."""
    notes: list[str] = [fr.note] if fr.note else []
    if fr.source == "mounting":
        ml = ml_from_shifts(m, fr.R)
        if ml is not None:
            fr2 = realign(fr, ml, "weight shift")
            if fr2 is not fr:
                fr = fr2
                notes.append(fr.note)
    v = lateral_velocity(m, fr.R)
    sts = stances_from_shifts(v, m.neutral)
    first = min((s.lift for s in sts), default=len(v)) - int(SHIFT_BEFORE_LIFT_S * RATE_HZ)
    if first < m.neutral[1]:  # the quiet standing ran into the first shift: end it before
        attitude(m, first)
        fr = Frame(frame(up0(m), fr.R[0]), fr.source, fr.note)
    obl, tilt = angles_deg(fr.R, np.nan_to_num(m.up, nan=0.0))
    obl[~m.ok] = np.nan
    tilt[~m.ok] = np.nan
    if len(sts) == 1:
        # one stance with its shift (the other leg's shifts too small, or the recording ends
        # in a stance): it stands; the posture may add the other leg's, outside it
        one = sts[0]
        other = [f for f in _fallback(obl, tilt, m.gyr, m.neutral)
                 if f.down <= one.lift or f.lift >= one.down]
        if other:
            log.warning("test: 1 weight shift found; the other stance is taken from the "
                        "posture and sway")
            other[0].side = -one.side
            sts = sorted([one, other[0]], key=lambda s: s.lift)
    elif not sts:
        fb = _fallback(obl, tilt, m.gyr, m.neutral)
        if fb:
            log.warning("test: no weight shift found; the stances are taken from the "
                        "posture and sway instead")
            sts = fb
    sts = _one_per_leg(sts)
    legs: dict[str, TestLeg] = {}
    for s in sts:
        leg = "left" if s.side > 0 else "right"
        legs[leg] = _measure(leg, s, m, obl, cfg)
        notes += [f"{leg} leg: {n}" for n in s.notes]
    for leg in ("left", "right"):
        if leg not in legs:
            legs[leg] = TestLeg(leg, "incomplete", words=words.trendelenburg_leg(
                leg, "incomplete", float("nan"), 0.0, float("nan"), cfg.test_drop_deg,
                cfg.test_hold_s))
            notes.append(f"{leg} leg: no single-leg stance found")
    for leg in ("left", "right"):
        log.info("test: %s", legs[leg].words)
    return TestResult({k: legs[k] for k in ("left", "right")}, cfg.test_drop_deg,
                      cfg.test_dwell_s, cfg.test_hold_s, cfg.test_hold_tolerance_s, SOURCE,
                      fr.source, notes)


def _one_per_leg(sts: list[Stance]) -> list[Stance]:
    """The protocol has one stance per leg: two on the same leg close together are one stance
    with a touch-down; otherwise the longest counts."""
    out: list[Stance] = []
    for s in sts:
        prev = next((o for o in out if o.side == s.side), None)
        if prev is None:
            out.append(s)
        elif (s.lift - prev.down) * DT <= 3.0 + TOUCH_S and prev is out[-1]:
            prev.touches += 1
            prev.down = s.down
        elif s.down - s.lift > prev.down - prev.lift:
            out[out.index(prev)] = s
    return out


def _measure(leg: str, s: Stance, m: Motion, obl: np.ndarray, cfg: ExerciseSettings) -> TestLeg:
    # the swing side's drop: left stance (side +1) drops the right side, obliquity + there
    d = s.side * obl
    a, b = s.lift, max(s.first_down, s.lift + 1)
    hold = (b - a) * DT
    seg = d[a:b]
    ok = np.isfinite(seg)
    mean = float(np.mean(seg[ok])) if ok.any() else float("nan")
    half = lowpass(np.nan_to_num(d), 0.5)[a:b]
    one = lowpass(np.nan_to_num(d), 1.0)[a:b]
    peak = float(np.max(half)) if len(half) else float("nan")
    need = max(1, round(cfg.test_dwell_s * RATE_HZ))
    above = (one >= cfg.test_drop_deg).astype(int)
    ttd = float("nan")
    if len(above) >= need:
        runs = np.convolve(above, np.ones(need, int), mode="valid")
        hit = np.flatnonzero(runs == need)
        if len(hit):
            ttd = float(hit[0] * DT)
    trend = lowpass(np.nan_to_num(d), 2.0)[a:b]
    core = slice(int(RATE_HZ), max(int(RATE_HZ) + 1, len(seg) - int(RATE_HZ)))
    sway = float(np.sqrt(np.nanmean((seg - trend)[core] ** 2))) if len(seg) > 3 * RATE_HZ \
        else float("nan")
    if ttd == ttd:
        verdict = "positive"
    elif hold >= cfg.test_hold_s - cfg.test_hold_tolerance_s:
        verdict = "negative"
    else:
        verdict = "incomplete"
    text = words.trendelenburg_leg(leg, verdict, mean, hold, ttd, cfg.test_drop_deg,
                                   cfg.test_hold_s)
    return TestLeg(leg, verdict, mean, peak, hold, ttd, sway, float(m.t[a]), float(m.t[s.down]),
                   s.touches, text)


__all__ = ["SOURCE", "Stance", "analyse", "lateral_velocity", "pulses", "shift_threshold",
           "stances_from_shifts"]
