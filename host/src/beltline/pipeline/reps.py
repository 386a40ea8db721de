"""Exercise sets from a recording: the reps counted from the pelvis's motion, each measured and
judged against the wearer's limits (``exercise_settings``).

1. **The set's position.** After the neutral standing the body gets into position: onto the
   stance leg (standing hip abduction: the sideways weight shift shows it), onto it and hinged
   forward (hip airplane), onto one side (side-lying leg lift, clamshell: up lies along the
   pelvis's left-right axis) or onto the back (glute bridge: up along its forward axis). The
   set is the longest stretch in that position.
2. **The frame, refined by the position** (``bodyframe``): lying on a side gives the
   mediolateral line, lying on the back gives forward with its sign, the bridge's own tilt
   gives the mediolateral axis precisely (so a 25° bridge does not leak into hike or
   rotation), a weight shift gives the mediolateral line when standing.
3. **Reps** (``zigzag``): the pelvis's orientation as three angles (``repmeasure``) traced as a
   path; a rep goes out from a resting posture and comes back, in any direction and by any
   amount, so the path's turning points are found with a hysteresis (a turn counts when the path
   has come back by at least 40 % of its excursion and by the hysteresis), the turning
   points farther from the set's start posture are the tops, and each rep runs from where the
   path leaves its resting posture to where it is back. Holds, pauses, speeds and depths do not
   matter; sway smaller than the hysteresis never makes a rep. A recount shrinks the motion
   across the way the set's ok reps go (``repfinder.recount_along``): sway goes every way.
4. **Measures and flags**: per rep from its own start posture (``repmeasure.rep_changes``); a
   change beyond the exercise's limit is a reason (hike/drop refer to the free leg's side).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from beltline import words
from beltline.exercise_records import REASON_SEP, RepRow, SetSummary
from beltline.frames import quat_to_matrix
from beltline.pipeline import repmeasure
from beltline.pipeline.bodyframe import Frame, Motion, attitude, lowpass, realign, up0
from beltline.pipeline.calibration import frame
from beltline.pipeline.exercise_settings import EXERCISES, JUDGED, ExerciseSettings
from beltline.pipeline.repfinder import (
    baseline,
    drop_sway,
    find_reps,
    path_noise,
    recount_along,
    zigzag,
)
from beltline.pipeline.signals import RATE_HZ
from beltline.pipeline.trendelenburg import (
    NEUTRAL_KEEP_S,
    SHIFT_MIN_M,
    lateral_velocity,
    ml_from_shifts,
    pulses,
    shift_threshold,
)

log = logging.getLogger(__name__)

MODE = {"standing_abduction": repmeasure.STANDING, "hip_airplane": repmeasure.STANDING,
        "side_lying_leg_lift": repmeasure.LYING, "clamshell": repmeasure.LYING,
        "glute_bridge": repmeasure.LYING}
POSITION = {"standing_abduction": "one leg", "hip_airplane": "one leg, hinged",
            "side_lying_leg_lift": "side", "clamshell": "side", "glute_bridge": "back"}
SIDE_COS = 0.7  # lying on a side: up within ~45° of the pelvis's left-right axis
BACK_COS = 0.6  # lying on the back: up within ~53° of the pelvis's forward axis (bridge 25°)
HINGE_DEG = 20.0  # the airplane's hinge: tilted forward at least this much
STEP_HZ = 25.0  # the rep finder's rate (after smoothing)
# the smallest turn counted: standing sways a few tenths of a degree, lying hardly at all
HYSTERESIS_DEG = {repmeasure.STANDING: 0.6, repmeasure.LYING: 0.3}
NOISE_FACTOR = 3.0  # the hysteresis is at least this many times the path's jitter
# the path is smoothed over this long first: sway on one leg is faster than reps
SMOOTH_S = {repmeasure.STANDING: 0.8, repmeasure.LYING: 0.4}
LARGE_MOTION = ('glute_bridge', 'hip_airplane')
LARGE_SHARE = 0.25
PRE_REST_S = 0.3  # a rep's start posture: the rest just before it was found to start
STANCE_SHIFT_M = 0.035  # the shift onto one leg moves the pelvis at least this far
LYING_NEAR_DEG = 15.0  # the lying set: up within this of its usual direction
SETTLE_SEARCH_S = 4.0
HINGE_SHARE = 0.85  # the airplane's set: hinged at least this share of the usual depth


@dataclass
class SetResult:
    """What one recording's set gave: rows, summary, and the notes a person should read."""

    exercise: str
    rows: list[RepRow]
    summary: SetSummary
    frame: str
    notes: list[str] = field(default_factory=list)
    trace: dict[str, object] = field(default_factory=dict)  # the rep finder's inputs, to look at


def _runs(mask: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """Runs of True, holes up to ``bridge`` samples filled."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    out: list[tuple[int, int]] = []
    for a, b in runs:
        if out and a - out[-1][1] <= bridge:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _longest(runs: list[tuple[int, int]]) -> tuple[int, int] | None:
    return max(runs, key=lambda r: r[1] - r[0]) if runs else None


def pelvis_up(m: Motion, R: np.ndarray) -> np.ndarray:
    return np.nan_to_num(m.up) @ R.T


def rotations(m: Motion, R: np.ndarray) -> np.ndarray:
    """Pelvis -> world rotations (N x 3 x 3) from the attitude and the frame."""
    q = np.nan_to_num(m.quat, nan=0.0)
    q[~m.ok] = [1.0, 0.0, 0.0, 0.0]
    return np.einsum("nij,kj->nik", quat_to_matrix(q), R)


def gyro_rotations(gyr: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Pelvis -> (sensor at the first sample) rotations (N x 3 x 3) from the bias-corrected
    gyro alone. Over a rep this is the exact relative motion: the attitude filter's pull toward
    the accelerometer, harmless for up, shrinks a bridge's fast tilt and hip lift (the hips
    accelerate) by a tenth or more; over a whole set the gyro drifts, so the rep finder keeps
    the filter's attitude."""
    rv = np.nan_to_num(gyr) * (1.0 / RATE_HZ)
    th = np.linalg.norm(rv, axis=1)
    k = rv / np.maximum(th, 1e-12)[:, None]
    K = np.zeros((len(rv), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -k[:, 2], k[:, 1], -k[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = k[:, 2], -k[:, 1], k[:, 0]
    sn, cs = np.sin(th)[:, None, None], (1.0 - np.cos(th))[:, None, None]
    step = np.eye(3)[None] + sn * K + cs * (K @ K)
    out = np.empty_like(step)
    cur = np.eye(3)
    for i in range(len(step)):
        out[i] = cur
        cur = cur @ step[i]
    return out @ R.T


def _bridge_axis(m: Motion, fr: Frame, spans: list[tuple[int, int]]) -> Frame:
    """The bridge lifts the hips by tilting the pelvis about its left-right axis: the median
    axis of the reps' own rotations (start to top, from the gyro) is that axis, to within
    a degree or two, so a 25° bridge leaks nothing into hike or rotation. A few compensated
    reps do not move a median."""
    axes = []
    for i0, it in spans:
        if it - i0 < 5:
            continue
        rel = gyro_rotations(m.gyr[i0: it + 1], np.eye(3))[-1]
        v = np.array([rel[2, 1] - rel[1, 2], rel[0, 2] - rel[2, 0], rel[1, 0] - rel[0, 1]])
        if np.linalg.norm(v) > 2 * np.sin(np.radians(5.0)):  # at least 5 deg of rotation
            v = v / np.linalg.norm(v)
            axes.append(v if v @ fr.R[1] >= 0 else -v)
    if len(axes) < 3:
        return fr
    ml = np.median(np.array(axes), axis=0)
    ml = ml - fr.R[2] * float(ml @ fr.R[2])
    if np.linalg.norm(ml) < 0.5:
        return fr
    ml = ml / np.linalg.norm(ml)
    return Frame(frame(fr.R[2], np.cross(ml, fr.R[2])), fr.source, fr.note)


def _dominant_axis(gyr: np.ndarray) -> np.ndarray | None:
    """The rotation axis (sensor frame, sign arbitrary) of a motion about one axis."""
    g = gyr[np.isfinite(gyr).all(axis=1)]
    if len(g) < RATE_HZ:
        return None
    val, vec = np.linalg.eigh(g.T @ g)
    return vec[:, -1] if val[-1] >= 6.0 * val[-2] else None


def position_span(m: Motion, fr: Frame, exercise: str,
                  notes: list[str]) -> tuple[Frame, tuple[int, int], float]:
    """The frame refined by the set's position, the set's span (grid indices) and the stance
    side for standing exercises (+1 left, -1 right, 0 unknown or lying)."""
    n = len(m)
    start = m.neutral[1]
    bridge = int(2.0 * RATE_HZ)
    if MODE[exercise] == repmeasure.LYING:
        u = pelvis_up(m, fr.R)
        if exercise == "glute_bridge":
            lying = np.abs(u[:, 0]) > BACK_COS
        else:
            lying = np.abs(u[:, 1]) > SIDE_COS
        lying[:start] = False
        span = _longest(_runs(lying & m.ok, bridge))
        if span is None:
            # the frame may be off (a unit not where documented): any lying position will do
            horiz = np.hypot(u[:, 0], u[:, 1]) > SIDE_COS
            horiz[:start] = False
            span = _longest(_runs(horiz & m.ok, bridge))
        if span is None or (span[1] - span[0]) < 3 * RATE_HZ:
            raise_no_position(exercise)
        assert span is not None
        # where up lies once settled (not on the way down) tells the frame
        a, b = _plateau(m, pelvis_up(m, fr.R), *span)
        u_mean = np.nanmean(m.up[a:b], axis=0)  # sensor frame
        if exercise == "glute_bridge":
            fr = _supine_frame(fr, u_mean, m, (a, b), notes)
        else:
            ml = u_mean / np.linalg.norm(u_mean)
            fr2 = realign(fr, ml, "side-lying position")
            if fr2 is not fr:
                notes.append(fr2.note)
                fr = fr2
        return fr, _plateau(m, pelvis_up(m, fr.R), *span), 0.0
    # standing: the weight shift onto the stance leg opens the set, the shift back ends it
    if exercise == "hip_airplane":
        fr = _hinge_frame(m, fr, notes)
    ml = ml_from_shifts(m, fr.R, ends_only=True) if exercise != "hip_airplane" else None
    if ml is not None and fr.source == "mounting":
        fr2 = realign(fr, ml, "weight shift")
        if fr2 is not fr:
            notes.append(fr2.note)
            fr = fr2
    v = lateral_velocity(m, fr.R)
    # the reps move the pelvis sideways too: the threshold comes from the quiet standing
    thr = shift_threshold(v, m.neutral)
    ps = [p for p in pulses(v, thr) if p[0] >= m.neutral[0] + int(NEUTRAL_KEEP_S * RATE_HZ)
          and abs(p[2]) >= 2 * SHIFT_MIN_M]
    a, b, side = start, n, 0.0
    if ps:
        # onto the leg: the first shift of the size of a weight shift (reps move less)
        first = next((p for p in ps if abs(p[2]) >= STANCE_SHIFT_M),
                     max(ps, key=lambda p: abs(p[2])))
        side = float(np.sign(first[2]))
        # the set starts as the weight is over the leg (reps may follow at once)
        a = first[1] + int(0.3 * RATE_HZ)
        back = [p for p in ps if p[0] > a and np.sign(p[2]) == -side and
                abs(p[2]) >= 0.5 * abs(first[2])]
        if back:
            b = back[-1][0] - int(0.3 * RATE_HZ)
        if first[0] < m.neutral[1]:  # the quiet standing ran into the shift: end it before
            attitude(m, first[0])
            fr = Frame(frame(up0(m), fr.R[0]), fr.source, fr.note)
    else:
        notes.append("no weight shift onto one leg was seen: the set is taken from the end of "
                     "the quiet standing to the end of the recording")
    if exercise == "hip_airplane":
        _, tilt = _angles(m, fr.R)
        hinged = lowpass(tilt, 1.0) > HINGE_DEG
        hinged[: m.neutral[1]] = False  # the hinge, not the shifts, makes the airplane's set
        span = _longest(_runs(hinged & m.ok, bridge))
        if span is not None and span[1] - span[0] >= 3 * RATE_HZ:
            # the set runs while the hinge is held: from reaching most of it to leaving it
            t = lowpass(tilt, 0.3)
            deep = np.flatnonzero(t[span[0]: span[1]] >= HINGE_SHARE * float(
                np.median(t[span[0]: span[1]])))
            a, b = span[0] + int(deep[0]), span[0] + int(deep[-1]) + 1
    return fr, (a, b), side


def _plateau(m: Motion, u: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """``a``..``b`` without the motion into and out of a lying position. The pelvis is nearly
    there once its up is within ``LYING_NEAR_DEG`` of its median over the stretch; the move in
    ends where the rotation is slowest in the ``SETTLE_SEARCH_S`` after that (the pause before
    the first rep, or the turn into it); the stretch ends where up leaves that cone."""
    med = np.median(u[a:b], axis=0)
    med = med / max(float(np.linalg.norm(med)), 1e-9)
    cos = (u[a:b] @ med) / np.maximum(np.linalg.norm(u[a:b], axis=1), 1e-9)
    near = np.flatnonzero(cos >= np.cos(np.radians(LYING_NEAR_DEG)))
    if len(near) < 2:
        return a, b
    i0, i1 = a + int(near[0]), a + int(near[-1]) + 1
    speed = lowpass(np.linalg.norm(np.nan_to_num(m.gyr), axis=1), 0.3)
    w = int(SETTLE_SEARCH_S * RATE_HZ)
    s0 = i0 + int(np.argmin(speed[i0: min(i1, i0 + w)]))
    # the end needs no such care: getting up goes away and never comes back, so it is no rep
    return s0, i1


def _angles(m: Motion, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from beltline.pipeline.calibration import angles_deg

    return angles_deg(R, np.nan_to_num(m.up))


def _supine_frame(fr: Frame, u_mean: np.ndarray, m: Motion, span: tuple[int, int],
                  notes: list[str]) -> Frame:
    """Lying on the back, up is the pelvis's forward: its sign is known, and the bridge's own
    motion (a tilt) is about the pelvis's left-right axis."""
    R = fr.R
    fwd = u_mean - R[2] * float(u_mean @ R[2])
    fwd_up = float(u_mean @ R[0])
    if np.linalg.norm(fwd) > 0.5:
        dev = float(np.degrees(np.arccos(np.clip(fwd @ R[0] / np.linalg.norm(fwd), -1, 1))))
        R = frame(R[2], fwd / np.linalg.norm(fwd))
        if dev > 30.0:
            notes.append(f"lying on the back showed forward {dev:.0f}° from the documented "
                         "mounting: forward and left follow the position")
    axis = _dominant_axis(m.gyr[span[0]: span[1]])
    if axis is not None:
        ml = axis - R[2] * float(axis @ R[2])
        if np.linalg.norm(ml) > 0.5:
            ml = ml / np.linalg.norm(ml)
            if ml @ R[1] < 0:
                ml = -ml
            R = frame(R[2], np.cross(ml, R[2]))
    return Frame(R, fr.source if fwd_up > 0.5 else "motion", fr.note)


def _hinge_frame(m: Motion, fr: Frame, notes: list[str]) -> Frame:
    """The airplane hinges forward: where up tilts to while hinged gives forward, with its
    sign (up moves toward the pelvis's back as the top of the pelvis goes forward)."""
    u0 = fr.R[2]
    u = np.nan_to_num(m.up)
    cos = u @ u0
    hinged = cos < np.cos(np.radians(HINGE_DEG))
    hinged[: m.neutral[1]] = False
    if hinged.sum() < 3 * RATE_HZ:
        return fr
    d = np.mean(u[hinged], axis=0)
    back = d - u0 * float(d @ u0)
    if np.linalg.norm(back) < 0.2:
        return fr
    fwd = -back / np.linalg.norm(back)
    dev = float(np.degrees(np.arccos(np.clip(fwd @ fr.R[0], -1.0, 1.0))))
    if dev > 30.0:
        notes.append(f"the hinge showed forward {dev:.0f}° from the documented mounting: "
                     "forward and left follow the motion")
        log.warning("frame: %s", notes[-1])
        return Frame(frame(u0, fwd), "motion", fr.note)
    return Frame(frame(u0, fwd), fr.source, fr.note)


def raise_no_position(exercise: str) -> None:
    from beltline.errors import DataError

    raise DataError(f"no {POSITION[exercise]} position found for {exercise}: the recording "
                    "must hold the set after the quiet standing (lying on the side for the "
                    "side-lying exercises, on the back for the bridge)")


def analyse_set(m: Motion, fr: Frame, exercise: str, cfg: ExerciseSettings) -> SetResult:
    """The set's reps, measured and judged (see the module docstring)."""
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}")
    notes: list[str] = [fr.note] if fr.note else []
    fr, (a, b), stance = position_span(m, fr, exercise, notes)
    mode = MODE[exercise]
    Rpw = rotations(m, fr.R)
    ch = repmeasure.channels(Rpw[a:b], mode)
    if mode == repmeasure.STANDING:  # obliquity and tilt from the blended up (drift-free)
        obl, tilt = _angles(m, fr.R)
        ch[:, 0], ch[:, 1] = obl[a:b], tilt[a:b]
    step = max(1, round(RATE_HZ / STEP_HZ))
    smooth = lowpass(ch, SMOOTH_S[mode])[::step]
    rate = RATE_HZ / step
    h = max(HYSTERESIS_DEG[mode], NOISE_FACTOR * path_noise(smooth, rate))
    bottoms: list[int] = []
    found = find_reps(smooth, rate, h, bottoms)
    if exercise in LARGE_MOTION and found:
        # every rep of the bridge and the airplane carries their own large motion: what is a
        # fraction of it is the landing between reps, not a rep
        exc = [float(np.linalg.norm(smooth[t] - smooth[s])) for s, t, _ in found]
        h = max(h, LARGE_SHARE * float(np.median(exc)))
        bottoms = []
        found = find_reps(smooth, rate, h, bottoms)
    # a second pass without the slow drift (heading from the gyro drifts a little; a posture
    # settles): the resting postures between the reps found make the baseline
    base = baseline(smooth, bottoms, rate)
    path = smooth - base if base is not None else smooth
    if base is not None:
        found = find_reps(path, rate, h)
    limits = cfg.limits(exercise)
    if exercise not in LARGE_MOTION:
        smallest = min(limits.values())
        found = drop_sway(found, path, smallest)
        # the set's reps move one way, sway any way: a third pass with the sway across shrunk
        found = recount_along(found, path, rate, h, smallest)
    if exercise == "glute_bridge":
        fr = _bridge_axis(m, fr, [(a + s_ * step, a + t_ * step) for s_, t_, _ in found])
    side_of = _sides(m, fr, exercise, stance, found, smooth, step, a)
    rows = []
    prev_end = a
    for k, (s, _, e) in enumerate(found, start=1):
        i0, i1 = a + s * step, min(b, a + e * step + 1)
        # measured from the rest just before the rep: its start is found once the pelvis has
        # already left by a little (a tenth of the excursion), which a change must not miss
        m0 = max(prev_end, i0 - int(PRE_REST_S * RATE_HZ))
        prev_end = i1
        if mode == repmeasure.LYING:  # within a rep the gyro alone is exact (see below)
            seg = repmeasure.channels(gyro_rotations(m.gyr[m0:i1], fr.R), mode)
        else:
            seg = repmeasure.channels(Rpw[m0:i1], mode)
            seg[:, 0], seg[:, 1] = ch[m0 - a: i1 - a, 0], ch[m0 - a: i1 - a, 1]
        o, t, r = repmeasure.rep_changes(seg, RATE_HZ)
        side = side_of[k - 1]
        o = -o if side == "right" else o  # + = the working side rises
        reasons = judge(exercise, o, t, r, limits)
        rows.append(RepRow(k, float(m.t[i0]), float(m.t[i1 - 1]), side,
                           "compensated" if reasons else "ok", REASON_SEP.join(reasons),
                           o, t, r))
    summary = summarise(exercise, rows)
    log.info("%s", summary.words)
    trace = {"t": m.t[a:b][::step], "path": smooth, "hysteresis_deg": h, "span": (a, b)}
    return SetResult(exercise, rows, summary, fr.source, notes, trace)


def _sides(m: Motion, fr: Frame, exercise: str, stance: float,
           found: list[tuple[int, int, int]], smooth: np.ndarray, step: int,
           a: int) -> list[str]:
    """The working leg of each rep."""
    if exercise == "glute_bridge":
        return ["both"] * len(found)
    if MODE[exercise] == repmeasure.LYING:
        u = pelvis_up(m, fr.R)
        out = []
        for s, _, e in found:
            y = float(np.mean(u[a + s * step: a + e * step + 1, 1]))
            out.append("left" if y > 0 else "right")  # the top leg works
        return out
    if stance == 0.0 and found:
        # no weight shift seen: the natural hike of abduction is on the working side
        hikes = [smooth[t, 0] - smooth[s, 0] for s, t, _ in found]
        sgn = 1.0 if float(np.median(hikes)) >= 0 else -1.0
        stance = -sgn if exercise == "standing_abduction" else sgn
    work = -stance if exercise == "standing_abduction" else stance
    return ["left" if work > 0 else "right"] * len(found)


def judge(exercise: str, o: float, t: float, r: float, limits: dict[str, float]) -> list[str]:
    """The reasons a rep is compensated. ``o`` + = the working side rises; hike and drop refer
    to the free leg's side (the working leg in abduction and lying, the other in the
    airplane); lying and the bridge judge the size of the obliquity change."""
    out = []
    if exercise == "hip_airplane":
        if o > limits["drop"]:
            out.append("drop")
        elif -o > limits["hike"]:
            out.append("hike")
    elif exercise == "standing_abduction":
        if o > limits["hike"]:
            out.append("hike")
        elif -o > limits["drop"]:
            out.append("drop")
    elif abs(o) > limits["hike"]:
        out.append("hike")
    order = {"hike": 0, "drop": 1}
    out.sort(key=lambda x: order[x])
    if "tilt" in JUDGED[exercise] and abs(t) > limits["tilt"]:
        out.append("tilt")
    if "rotation" in JUDGED[exercise] and r > limits["rotation"]:
        out.append("rotation")
    return out


def summarise(exercise: str, rows: list[RepRow]) -> SetSummary:
    reasons: dict[str, int] = {}
    for r in rows:
        for x in r.reasons:
            reasons[x] = reasons.get(x, 0) + 1
    comp = sum(r.flag == "compensated" for r in rows)
    sides = sorted({r.side for r in rows})
    side = sides[0] if len(sides) == 1 else "+".join(sides)
    return SetSummary(exercise, side, len(rows), comp, reasons,
                      rows[0].start_s if rows else float("nan"),
                      rows[-1].end_s if rows else float("nan"),
                      float(np.mean([r.duration_s for r in rows])) if rows else float("nan"),
                      words.set_summary(exercise, side, len(rows), comp, reasons))


__all__ = ["MODE", "SetResult", "analyse_set", "find_reps", "judge", "zigzag"]
