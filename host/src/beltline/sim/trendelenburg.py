"""The virtual wearer performs the single-leg stance (Trendelenburg) test, with its truth.

The protocol (Hardcastle & Nade 1985): quiet standing, one leg for ~30 s, both feet, the other
leg ~30 s, in either order. Each stance, as a body does it: the weight shifts toward the stance
foot (the pelvis travels 5-10 cm sideways, minimum jerk, 0.6-1.5 s), the other foot lifts, the
swing side sinks by the wearer's drop (0-10 deg; at once or after a delay, as in a "delayed"
positive test) while sway grows (0.5-1.2 deg of obliquity instead of 0.2-0.4), the foot may
touch down briefly to catch balance, and at the end it comes down (an impact at the pelvis)
and the weight shifts back. Truth is computed from the pose itself with the documented rules
(``beltline.pipeline.trendelenburg``), in the recording's own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from beltline import words
from beltline.exercise_records import TestLeg, TestResult
from beltline.guide import Step
from beltline.pipeline.exercise_settings import ExerciseSettings
from beltline.sim.poses import Timeline
from beltline.sim.rigid import Samples, imu_from_pose
from beltline.sim.wearer import Mount, SensorModel

SOURCE = "Hardcastle & Nade 1985 (JBJS-B 67:741); ~2 cm across the pelvis (DESIGN.md §4)"


@dataclass(frozen=True)
class LegPlan:
    """One stance: ``drop_deg`` the held swing-side drop (+ dropped, - raised), reached
    ``onset_s`` after the lift over ``ramp_s``; the foot lifts for ``hold_s`` (to its final
    coming down), with brief touch-downs ``touches_s`` seconds after the lift."""

    drop_deg: float
    hold_s: float = 30.0
    onset_s: float = 0.0
    ramp_s: float = 1.5
    touches_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class TestPlan:
    """The whole test: legs in ``order``, the body's shift and sway, the pauses."""

    __test__ = False
    legs: dict[str, LegPlan]
    order: tuple[str, str] = ("left", "right")
    quiet_s: float = 8.0
    between_s: float = 8.0
    end_s: float = 5.0
    shift_m: float = 0.08
    shift_s: float = 1.0
    back_s: float = 0.8
    sway_double_deg: float = 0.3
    sway_single_deg: float = 0.8
    tilt_single_deg: float = 0.0  # a steady tilt change while on one leg
    heading_deg: float = 0.0


@dataclass
class TestRecording:
    """Samples, the truth in the output format, and the truth per sample."""

    __test__ = False
    samples: Samples
    truth: TestResult
    obliquity_deg: np.ndarray  # per sample, + = right side lower
    tilt_deg: np.ndarray
    stance: np.ndarray  # "left", "right" or "" per sample
    plan: TestPlan
    extra: dict[str, object] = field(default_factory=dict)


def random_plan(rng: np.random.Generator, drops: tuple[float, float] | None = None,
                clear_of_deg: float = 0.0, threshold_deg: float = 4.5) -> TestPlan:
    """A random wearer: drops per leg from ``drops`` (default 0-10 deg, sometimes a small hike),
    at least ``clear_of_deg`` away from ``threshold_deg``; delays, short holds, touch-downs,
    sway and pauses varied."""
    def drop() -> float:
        while True:
            d = float(rng.uniform(*(drops or (-1.5, 10.0))))
            if abs(d - threshold_deg) >= clear_of_deg:
                return d

    legs = {}
    for leg in ("left", "right"):
        hold = float(rng.uniform(28.0, 34.0)) if rng.random() < 0.8 else float(
            rng.uniform(6.0, 18.0))
        onset = float(rng.uniform(3.0, 0.6 * hold)) if rng.random() < 0.25 else 0.0
        touches: tuple[float, ...] = ()
        if rng.random() < 0.2 and hold > 12:
            touches = (float(rng.uniform(5.0, hold - 5.0)),)
        legs[leg] = LegPlan(drop(), hold, onset, float(rng.uniform(0.8, 2.5)), touches)
    order = ("left", "right") if rng.random() < 0.5 else ("right", "left")
    return TestPlan(legs, order, quiet_s=float(rng.uniform(5.0, 12.0)),
                    between_s=float(rng.uniform(4.0, 15.0)), end_s=float(rng.uniform(2.0, 8.0)),
                    shift_m=float(rng.uniform(0.05, 0.10)), shift_s=float(rng.uniform(0.6, 1.5)),
                    back_s=float(rng.uniform(0.5, 1.2)),
                    sway_double_deg=float(rng.uniform(0.15, 0.4)),
                    sway_single_deg=float(rng.uniform(0.5, 1.2)),
                    tilt_single_deg=float(rng.uniform(-2.0, 2.0)),
                    heading_deg=float(rng.uniform(0, 360)))


def plan_from_guide(steps: list[Step], drops: dict[str, float], rng: np.random.Generator,
                    fail_at_s: dict[str, float] | None = None) -> TestPlan:
    """A wearer who follows the guide ``steps`` (``beltline.guide.schedule``): shifts onto the
    named leg when the hold starts, lifts the foot, holds until the step ends (or gives up
    ``fail_at_s`` seconds in), with the swing-side drops ``drops`` (deg) per stance leg."""
    holds = [st for st in steps if st.stance]
    if len(holds) != 2:
        raise ValueError("the guide must hold one stance per leg")
    shift_s = float(rng.uniform(0.7, 1.2))
    back_s = float(rng.uniform(0.6, 1.0))
    legs = {}
    for st in holds:
        hold = st.seconds - shift_s
        if fail_at_s and st.stance in fail_at_s:
            hold = min(hold, fail_at_s[st.stance])
        legs[st.stance] = LegPlan(drops.get(st.stance, 0.0), hold, 0.0, float(rng.uniform(1.0,
                                                                                       2.0)))
    first, second = holds
    between = second.start_s - (first.start_s + shift_s + legs[first.stance].hold_s + back_s)
    end = steps[-1].end_s - (second.start_s + shift_s + legs[second.stance].hold_s + back_s)
    return TestPlan(legs, (first.stance, second.stance), quiet_s=first.start_s,
                    between_s=between, end_s=max(1.0, end), shift_m=float(rng.uniform(0.06, 0.09)),
                    shift_s=shift_s, back_s=back_s, sway_double_deg=float(rng.uniform(0.15, 0.3)),
                    sway_single_deg=float(rng.uniform(0.5, 0.9)),
                    heading_deg=float(rng.uniform(0, 360)))


def simulate_test(plan: TestPlan, rate_hz: float = 100.0, seed: int = 0,
                  mount: str | Mount = "back",
                  misalign_deg: tuple[float, float, float] = (0.0, 0.0, 0.0),
                  sensor: SensorModel | None = None,
                  settings: ExerciseSettings | None = None) -> TestRecording:
    """The test performed by ``plan``'s wearer, as the unit records it."""
    rng = np.random.default_rng(seed)
    cfg = settings or ExerciseSettings()
    touch_len = 0.6
    total = plan.quiet_s + plan.end_s + plan.between_s + sum(
        plan.shift_s + p.hold_s + plan.back_s for p in plan.legs.values())
    tl = Timeline(total, rate_hz, plan.heading_deg)
    single = np.zeros(tl.n)  # 0..1: weight on one leg
    drop_clean = np.zeros(tl.n)  # signed roll of the drop, without sway (deg)
    stance = np.full(tl.n, "", dtype=object)
    spans: dict[str, tuple[float, float, float]] = {}  # leg: lift, first down, final down
    t = plan.quiet_s
    for leg in plan.order:
        p = plan.legs[leg]
        side = 1.0 if leg == "left" else -1.0  # left = +y; left stance -> right side low, roll +
        lift = t + plan.shift_s
        down = lift + p.hold_s
        w = tl.ramp(t, plan.shift_s) - tl.ramp(down, plan.back_s)
        d = p.drop_deg * (tl.ramp(lift - 0.5 * plan.shift_s + p.onset_s, p.ramp_s)
                          - tl.ramp(down, plan.back_s))
        d = np.minimum(np.abs(d), abs(p.drop_deg)) * np.sign(p.drop_deg) * (w > 0)
        for tt in p.touches_s:  # a brief touch: weight partly back, the pelvis partly level
            frac = float(rng.uniform(0.4, 0.7))
            b = tl.bump(lift + tt, touch_len / 2, 0.0, touch_len / 2)
            w = w - frac * b
            d = d * (1 - frac * b)
            tl.impact(lift + tt, float(rng.uniform(1.0, 3.0)))
        tl.lat += side * plan.shift_m * w
        tl.up += 0.01 * w  # the stance hip straightens a little
        tl.roll += side * d
        drop_clean += side * d
        single = np.maximum(single, w)
        tl.impact(down, float(rng.uniform(2.0, 5.0)))
        first_down = lift + min(p.touches_s) if p.touches_s else down
        spans[leg] = (lift, first_down, down)
        stance[(tl.t >= lift) & (tl.t < down)] = leg
        t = down + plan.back_s + plan.between_s
    sw = plan.sway_double_deg + (plan.sway_single_deg - plan.sway_double_deg) * single
    tl.roll += tl.sway(rng, sw, 1.2)
    tl.tilt += tl.sway(rng, 0.7 * sw, 1.5) + plan.tilt_single_deg * single
    tl.yaw += tl.sway(rng, 0.8 * sw, 2.0)
    tl.lat += tl.sway(rng, 0.004 * sw, 1.0)
    tl.fwd += tl.sway(rng, 0.003 * sw, 1.5)
    samples = imu_from_pose(tl.position(), tl.quat(), rate_hz, rng, mount, misalign_deg, sensor)
    ts = samples.t
    obl = tl.at(ts, tl.roll)
    legs = {}
    for leg, (lift, first_down, down) in spans.items():
        side = 1.0 if leg == "left" else -1.0
        legs[leg] = truth_leg(leg, ts, side * obl, side * tl.at(ts, drop_clean), lift,
                              first_down, down, len(plan.legs[leg].touches_s), cfg)
    truth = TestResult(legs, cfg.test_drop_deg, cfg.test_dwell_s, cfg.test_hold_s,
                       cfg.test_hold_tolerance_s, SOURCE, "virtual wearer (truth)")
    return TestRecording(samples, truth, obl, tl.at(ts, tl.tilt),
                         stance[samples.nearest].astype(str), plan)


def truth_leg(leg: str, ts: np.ndarray, drop: np.ndarray, clean: np.ndarray, lift: float,
              first_down: float, down: float, touches: int, cfg: ExerciseSettings) -> TestLeg:
    """A leg's truth by the documented rules: the mean and peak (0.5 s) of the true drop over
    the hold, held beyond the threshold (1-s mean, dwell) judged on the drop without sway."""
    m = (ts >= lift) & (ts < first_down)
    dt = float(np.median(np.diff(ts)))
    w = max(1, round(0.5 / dt))
    sm = np.convolve(drop[m], np.ones(w) / w, mode="valid") if m.sum() >= w else drop[m]
    above = clean[m] >= cfg.test_drop_deg
    need = round(cfg.test_dwell_s / dt)
    ttd = np.nan
    run = 0
    for i, a in enumerate(above):
        run = run + 1 if a else 0
        if run >= max(need, 1):
            ttd = float(ts[m][i - run + 1] - lift)
            break
    hold = first_down - lift
    if ttd == ttd:
        verdict = "positive"
    elif hold >= cfg.test_hold_s - cfg.test_hold_tolerance_s:
        verdict = "negative"
    else:
        verdict = "incomplete"
    mean = float(drop[m].mean())
    trend = np.convolve(drop[m], np.ones(2 * w * 2) / (4 * w), mode="same")
    sway = float(np.sqrt(np.mean((drop[m] - trend)[2 * w: -2 * w] ** 2))) if m.sum() > 8 * w \
        else float("nan")
    text = words.trendelenburg_leg(leg, verdict, mean, hold, ttd, cfg.test_drop_deg,
                                   cfg.test_hold_s)
    return TestLeg(leg, verdict, mean, float(sm.max()), hold, ttd, sway, lift, down, touches,
                   text)


__all__ = ["LegPlan", "TestPlan", "TestRecording", "plan_from_guide", "random_plan",
           "simulate_test", "truth_leg"]
