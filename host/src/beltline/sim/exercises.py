"""The virtual wearer performs the hip-abductor exercises, with the truth rows.

Each set starts with quiet standing (the neutral), then the body gets into position — onto the
stance leg (standing hip abduction), onto it and hinged forward (hip airplane), down onto one
side with the working leg on top (side-lying leg lift, clamshell) or onto the back (glute
bridge) — and does its reps: each with its own depth (0.7-1.3), speed (0.6-2.5 s up or down),
hold at the top (0-2 s) and pause (0-3 s), shaped by minimum-jerk moves. Every rep moves the
pelvis a little the way the exercise does (the exercise's "natural" motion, under its limits
with a margin); a compensated rep adds a hike, a drop, a tilt or a rotation beyond its limit
with a margin (2 deg or more), so the truth is never a coin toss. The bridge's own motion is
a 12-28 deg posterior tilt with the hips rising 10-18 cm, the airplane's a 15-35 deg rotation.

Truth rows (``RepRow``, the analysis's output format) take their numbers from the true pose by
the documented rules (``beltline.pipeline.repmeasure``) and their flags and reasons from what
was injected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from beltline.exercise_records import REASON_SEP, RepRow, SetSummary
from beltline.pipeline import repmeasure
from beltline.pipeline.exercise_settings import EXERCISES, JUDGED, ExerciseSettings
from beltline.pipeline.reps import summarise
from beltline.sim.poses import ON_LEFT_SIDE, ON_RIGHT_SIDE, SUPINE, Timeline
from beltline.sim.rigid import Samples, imu_from_pose
from beltline.sim.wearer import Mount, SensorModel, quat_to_matrix

MARGIN_DEG = 2.0  # injected values stay this far from every limit
MODE = {"standing_abduction": repmeasure.STANDING, "hip_airplane": repmeasure.STANDING,
        "side_lying_leg_lift": repmeasure.LYING, "clamshell": repmeasure.LYING,
        "glute_bridge": repmeasure.LYING}
# the exercise's own pelvic motion per rep at depth 1 (deg; lateral m): ranges to draw from
NATURAL = {
    "standing_abduction": {"hike": (1.4, 2.5), "tilt": (-0.8, 0.8), "rotation": (-1.2, 1.2),
                           "lateral_m": (0.02, 0.04)},
    "side_lying_leg_lift": {"hike": (1.0, 2.2), "tilt": (-0.8, 0.8), "rotation": (0.4, 1.4)},
    "clamshell": {"hike": (0.2, 0.9), "tilt": (-0.6, 0.6), "rotation": (1.5, 3.0)},
    "glute_bridge": {"hike": (-1.0, 1.0), "tilt": (-28.0, -12.0), "rotation": (-1.0, 1.0),
                     "rise_m": (0.10, 0.18)},
    "hip_airplane": {"hike": (-1.2, 1.2), "tilt": (-1.5, 1.5), "rotation": (15.0, 35.0)},
}


@dataclass(frozen=True)
class RepPlan:
    """One rep: starts ``start_s`` after the set's first rep could start; up, hold, down;
    ``depth`` scales the natural motion; ``comp`` the injected compensations (reason: the
    total change wanted at the top, deg, in the output's sign convention)."""

    start_s: float
    rise_s: float
    hold_s: float
    fall_s: float
    depth: float = 1.0
    comp: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.rise_s + self.hold_s + self.fall_s


@dataclass(frozen=True)
class SetPlan:
    """A set: the exercise, the working leg (``side``, "both" for the bridge), its reps, the
    natural motion (deg at depth 1), the sway and the lead-in."""

    exercise: str
    side: str
    reps: tuple[RepPlan, ...]
    natural: dict[str, float]
    quiet_s: float = 8.0
    setup_s: float = 5.0
    settle_s: float = 2.0
    end_s: float = 3.0
    sway_deg: float = 0.4
    heading_deg: float = 0.0
    turn_deg: float = 120.0  # the heading change when lying down
    hinge_deg: float = 60.0  # the airplane's forward hinge
    posture_tilt_deg: float = 0.0  # lying: the pelvis's tilt in the start position


@dataclass
class SetRecording:
    samples: Samples
    truth: list[RepRow]
    summary: SetSummary
    plan: SetPlan


def _sign(side: str) -> float:
    return -1.0 if side == "right" else 1.0


def random_plan(exercise: str, rng: np.random.Generator, cfg: ExerciseSettings | None = None,
                reps: int | None = None, compensated: float | None = None) -> SetPlan:
    """A random set of ``exercise``: 6-15 reps (or ``reps``), a share of them compensated (0-0.5,
    or ``compensated``), speeds, holds, pauses and depths varied."""
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; one of {', '.join(EXERCISES)}")
    cfg = cfg or ExerciseSettings()
    limits = cfg.limits(exercise)
    side = "both" if exercise == "glute_bridge" else str(rng.choice(["left", "right"]))
    natural = {k: float(rng.uniform(*r)) for k, r in NATURAL[exercise].items()}
    for k in ("hike", "tilt", "rotation"):  # keep the natural motion under the limits
        lim = limits.get(k, limits.get("drop", 99.0) if k == "hike" else 99.0)
        if k in limits or (k == "hike" and "drop" in limits):
            natural[k] = float(np.clip(natural[k], -(lim - MARGIN_DEG) / 1.3,
                                       (lim - MARGIN_DEG) / 1.3))
    n = reps if reps is not None else int(rng.integers(6, 16))
    share = compensated if compensated is not None else float(rng.uniform(0.0, 0.5))
    no_pause = rng.random() < 0.3
    plan: list[RepPlan] = []
    t = 0.0
    for _ in range(n):
        rise = float(rng.uniform(0.6, 2.0))
        fall = float(rng.uniform(0.6, 2.5))
        hold = float(rng.uniform(0.0, 2.0)) if rng.random() < 0.5 else 0.0
        comp: dict[str, float] = {}
        if rng.random() < share:
            choices = list(JUDGED[exercise])
            how_many = 2 if rng.random() < 0.15 and len(choices) > 1 else 1
            for pick in rng.choice(choices, size=how_many, replace=False):
                reason = str(pick)
                if (reason == "drop" and "hike" in comp) or (reason == "hike" and "drop" in comp):
                    continue  # one obliquity change per rep
                total = float(rng.uniform(limits[reason] + MARGIN_DEG, limits[reason] + 7.0))
                if reason == "drop" or (reason in ("tilt", "rotation") and rng.random() < 0.5):
                    total = -total
                if exercise == "hip_airplane" and reason in ("hike", "drop"):
                    total = -total  # the airplane's working side is the stance side
                comp[reason] = total
        depth = float(rng.uniform(0.7, 1.3))
        plan.append(RepPlan(t, rise, hold, fall, depth, comp))
        t += rise + hold + fall + (0.0 if no_pause else float(rng.uniform(0.2, 3.0)))
    lying = MODE[exercise] == repmeasure.LYING
    return SetPlan(exercise, side, tuple(plan), natural,
                   quiet_s=float(rng.uniform(5.0, 10.0)),
                   setup_s=float(rng.uniform(4.0, 7.0) if lying else rng.uniform(0.8, 1.5)),
                   settle_s=float(rng.uniform(1.5, 4.0)), end_s=float(rng.uniform(2.0, 5.0)),
                   sway_deg=float(rng.uniform(0.05, 0.15) if lying else rng.uniform(0.15, 0.3)),
                   heading_deg=float(rng.uniform(0, 360)),
                   turn_deg=float(rng.uniform(-180, 180)), hinge_deg=float(rng.uniform(45, 80)),
                   posture_tilt_deg=float(rng.uniform(-15, 5)) if exercise == "clamshell"
                   else float(rng.uniform(-5, 5)))


def simulate_set(plan: SetPlan, rate_hz: float = 100.0, seed: int = 0,
                 mount: str | Mount = "back",
                 misalign_deg: tuple[float, float, float] = (0.0, 0.0, 0.0),
                 sensor: SensorModel | None = None,
                 settings: ExerciseSettings | None = None) -> SetRecording:
    """The set performed, as the unit records it, with the truth rows."""
    rng = np.random.default_rng(seed)
    cfg = settings or ExerciseSettings()
    ex, sw = plan.exercise, _sign(plan.side)
    lying = MODE[ex] == repmeasure.LYING
    reps_s = plan.reps[-1].start_s + plan.reps[-1].seconds if plan.reps else 0.0
    getup = plan.setup_s if lying else 1.0
    first = plan.quiet_s + plan.setup_s + plan.settle_s
    total = first + reps_s + 1.0 + getup + plan.end_s
    tl = Timeline(total, rate_hz, plan.heading_deg)
    t_end = first + reps_s + 1.0  # the set is over: back to standing
    single = np.zeros(tl.n)
    if lying:
        pose = {"glute_bridge": SUPINE}.get(ex, ON_RIGHT_SIDE if plan.side == "left"
                                             else ON_LEFT_SIDE)
        t0 = plan.quiet_s
        tl.posture(t0, t0 + plan.setup_s, pose)
        tl.posture(t_end, t_end + getup, np.array([1.0, 0.0, 0.0, 0.0]))
        down = tl.ramp(t0, plan.setup_s) - tl.ramp(t_end, getup)
        tl.up -= 0.8 * down
        tl.fwd += 0.5 * down
        tl.yaw += plan.turn_deg * down
        tl.tilt_l += plan.posture_tilt_deg * down
        # breathing: the pelvis rocks a little at ~0.25 Hz while lying
        tl.tilt_l += 0.15 * np.sin(2 * np.pi * 0.25 * tl.t) * down
    else:
        t0 = plan.quiet_s
        stance = -sw if ex == "standing_abduction" else sw  # the airplane stands on its side
        single = tl.ramp(t0, plan.setup_s) - tl.ramp(t_end, 1.0)
        tl.lat += stance * float(rng.uniform(0.05, 0.09)) * single
        if ex == "hip_airplane":
            hinge = tl.ramp(t0 + plan.setup_s, plan.settle_s) - tl.ramp(t_end - 0.5, 1.5)
            tl.tilt += plan.hinge_deg * hinge
    ch_o, ch_t, ch_r = (tl.obl_l, tl.tilt_l, tl.rot_l) if lying else (tl.roll, tl.tilt, tl.yaw)
    nat = plan.natural
    spans = []
    for rp in plan.reps:
        s0 = first + rp.start_s
        a = tl.bump(s0, rp.rise_s, rp.hold_s, rp.fall_s)
        o = nat.get("hike", 0.0) * rp.depth
        tv = nat.get("tilt", 0.0) * rp.depth
        r = nat.get("rotation", 0.0) * rp.depth * (sw if ex != "glute_bridge" else 1.0)
        for reason, total in rp.comp.items():
            if reason in ("hike", "drop"):
                o = total
            elif reason == "tilt":
                tv = total
            else:
                r = total
        ch_o += sw * o * a  # + = the working side rises (DESIGN roll for "left" and "both")
        ch_t += tv * a
        ch_r += r * a
        if "lateral_m" in nat:  # the pelvis moves toward the stance foot as the leg goes out
            tl.lat += -sw * nat["lateral_m"] * rp.depth * a
        if "rise_m" in nat:
            tl.up += nat["rise_m"] * rp.depth * a
        spans.append((s0, s0 + rp.seconds))
    sway = plan.sway_deg * (1.0 + (0.0 if lying else 0.6 * single))
    if lying:  # sway fades out lying down: quiet standing sway before and after
        stand_part = 1.0 - (tl.ramp(plan.quiet_s, plan.setup_s) - tl.ramp(t_end, getup))
        sway = 0.3 * stand_part + plan.sway_deg * (1 - stand_part)
    tl.roll += tl.sway(rng, sway, 1.2)
    tl.tilt += tl.sway(rng, 0.7 * sway, 1.5)
    tl.yaw += tl.sway(rng, 0.6 * sway, 2.0)
    tl.lat += tl.sway(rng, 0.004 * sway, 1.0)
    q = tl.quat()
    samples = imu_from_pose(tl.position(), q, rate_hz, rng, mount, misalign_deg, sensor)
    rows = truth_rows(plan, samples, quat_to_matrix(q[samples.nearest]), spans, cfg)
    return SetRecording(samples, rows, summarise(ex, rows), plan)


def truth_rows(plan: SetPlan, samples: Samples, Rpw: np.ndarray,
               spans: list[tuple[float, float]], cfg: ExerciseSettings) -> list[RepRow]:
    """The truth in the analysis's format: numbers from the true pose, flags as injected."""
    ts = samples.t
    rate = 1.0 / float(np.median(np.diff(ts)))
    mode = MODE[plan.exercise]
    sw = _sign(plan.side)
    rows = []
    for k, (rp, (a, b)) in enumerate(zip(plan.reps, spans, strict=True), start=1):
        m = (ts >= a) & (ts <= b)
        ch = repmeasure.channels(Rpw[m], mode)
        o, t, r = repmeasure.rep_changes(ch, rate)
        reasons = [x for x in ("hike", "drop", "tilt", "rotation") if x in rp.comp]
        rows.append(RepRow(k, a, b, plan.side, "compensated" if reasons else "ok",
                           REASON_SEP.join(reasons), sw * o, t, r))
    return rows


__all__ = ["MODE", "NATURAL", "RepPlan", "SetPlan", "SetRecording", "random_plan",
           "simulate_set", "truth_rows"]
