"""Scenario library for the virtual wearer. Most scenarios start with the calibration
protocol; the real-life ones start as real recordings do (seated, lying, bending, walking) and
some wearers' patterns differ (``Scenario.wearer``, ``varied_wearer``).

Calibration protocol (for real wearers too): clip the unit on the belt, stand still and relaxed
for 10 s looking ahead, feet hip-width apart (this sets the neutral: zero obliquity and tilt),
then walk normally in a straight line for 30 s (this finds forward and left from the gait).
Beltline does not need it: it finds quiet upright standing and walking wherever they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from beltline.sim.wearer import MOUNTS, Segment, Wearer

CALIBRATION = [Segment("stand", 10.0), Segment("walk", 30.0)]


@dataclass(frozen=True)
class Scenario:
    """``protocol``: the calibration protocol comes first; ``wearer``: this scenario's
    changes to the wearer (``wearer_for``)."""

    name: str
    description: str
    build: Callable[[float, np.random.Generator], list[Segment]]
    protocol: bool = True
    wearer: dict[str, float] = field(default_factory=dict)


def _walks(minutes: float, rng: np.random.Generator, **cond: Any) -> list[Segment]:
    # walking bouts of 40-90 s with 180-degree or 90-degree turns between, and short stops
    out: list[Segment] = []
    left = minutes * 60.0
    while left > 1.0:
        bout = min(left, float(rng.uniform(40, 90)))
        out.append(Segment("walk", bout, turn_deg=float(rng.choice([0, 90, -90])), **cond))
        left -= bout
        if left > 20:
            out.append(Segment("walk", 3.0, turn_deg=180.0, **cond))
            out.append(Segment("stand", 4.0))
            left -= 7.0
    return out


def _healthy(m: float, rng: np.random.Generator) -> list[Segment]:
    return [*_walks(m, rng), Segment("stand", 10.0)]


def _hip_drop(side: str) -> Callable[[float, np.random.Generator], list[Segment]]:
    def build(m: float, rng: np.random.Generator) -> list[Segment]:
        third = m / 3
        return [*_walks(third, rng),
                *_walks(third, rng, hip_drop_deg=6.0, hip_drop_side=side),
                *_walks(third, rng), Segment("stand", 10.0)]
    return build


def _fatigue(m: float, rng: np.random.Generator) -> list[Segment]:
    # the drop in right stance grows from nothing to 7 deg over a long walk
    return [Segment("walk", m * 60.0, hip_drop_deg=0.5, hip_drop_end_deg=7.0,
                    hip_drop_side="right", turn_deg=360.0), Segment("stand", 10.0)]


def _anterior_tilt(m: float, rng: np.random.Generator) -> list[Segment]:
    half = m / 2
    return [*_walks(half / 2, rng), *_walks(half, rng, tilt_deg=8.0),
            Segment("stand", 60.0, tilt_deg=8.0), *_walks(half / 2, rng), Segment("stand", 10.0)]


def _standing_obliquity(m: float, rng: np.random.Generator) -> list[Segment]:
    return [Segment("stand", 30.0), Segment("stand", max(60.0, m * 20.0), obliquity_deg=5.0),
            *_walks(m / 2, rng), Segment("stand", max(60.0, m * 20.0), obliquity_deg=-5.0),
            Segment("stand", 10.0)]


def _daily_mix(m: float, rng: np.random.Generator) -> list[Segment]:
    # confounders only: sitting, bending, weight shifts, turns, short non-sustained drops
    out: list[Segment] = []
    for _ in range(max(1, int(m / 3))):
        out += [Segment("walk", 40.0, turn_deg=180.0),
                Segment("walk", 6.0, hip_drop_deg=6.0, labelled=False),
                Segment("walk", 30.0), Segment("sit_down", 2.5), Segment("sit", 45.0),
                Segment("stand_up", 2.5), Segment("bend", 4.0), Segment("weight_shift", 20.0),
                Segment("stand", 10.0)]
    return out


def _mixed(m: float, rng: np.random.Generator) -> list[Segment]:
    # a random day: sustained conditions of random size and side between confounders
    out: list[Segment] = []
    left = m * 60.0
    while left > 0:
        c = int(rng.integers(6))
        side = str(rng.choice(["left", "right"]))
        if c == 0:
            seg = [Segment("walk", float(rng.uniform(60, 150)), hip_drop_deg=float(
                rng.uniform(4, 7)), hip_drop_side=side, turn_deg=float(rng.choice([0, 90, 180])))]
        elif c == 1:
            seg = [Segment("walk", float(rng.uniform(60, 120)), tilt_deg=float(rng.uniform(6, 10)))]
        elif c == 2:
            seg = [Segment("stand", float(rng.uniform(40, 90)),
                           obliquity_deg=float(rng.choice([-1, 1]) * rng.uniform(4, 6)))]
        elif c == 3:  # a brief drop, not sustained: no episode
            seg = [Segment("walk", float(rng.uniform(3, 9)), hip_drop_deg=7.0,
                           hip_drop_side=side, labelled=False), Segment("walk", 20.0)]
        elif c == 4:
            seg = [Segment("sit_down", 2.5), Segment("sit", float(rng.uniform(30, 120))),
                   Segment("stand_up", 2.5)]
        else:
            seg = [Segment("bend", 4.0), Segment("weight_shift", 20.0),
                   Segment("walk", 30.0, turn_deg=180.0)]
        seg += [Segment("walk", float(rng.uniform(20, 40)), turn_deg=float(rng.choice([0, 180]))),
                Segment("stand", float(rng.uniform(3, 15)))]
        out += seg
        left -= sum(s.seconds for s in seg)
    return out


def _demo(m: float, rng: np.random.Generator) -> list[Segment]:
    # a tour of every episode kind within a few minutes, for `beltline monitor --virtual`
    k = m / 10.0  # the default 10 minutes: 1.5 min normal, then 2 min each condition
    return [Segment("walk", 90 * k, turn_deg=180.0),
            Segment("walk", 120 * k, hip_drop_deg=6.0, hip_drop_side="right", turn_deg=180.0),
            Segment("walk", 60 * k), Segment("stand", 90 * k, obliquity_deg=5.0),
            Segment("walk", 120 * k, tilt_deg=8.0, turn_deg=180.0), Segment("walk", 60 * k),
            Segment("sit_down", 2.5), Segment("sit", 60 * k), Segment("stand_up", 2.5),
            Segment("stand", 10.0)]


def _chronic(side: str) -> Callable[[float, np.random.Generator], list[Segment]]:
    # a weak hip from the first step: the drop is there in the very first walk too
    def build(m: float, rng: np.random.Generator) -> list[Segment]:
        d: dict[str, Any] = {"hip_drop_deg": 6.0, "hip_drop_side": side}
        return [Segment("stand", 10.0), Segment("walk", 30.0, **d), *_walks(m, rng, **d),
                Segment("stand", 10.0)]
    return build


def _bilateral(m: float, rng: np.random.Generator) -> list[Segment]:
    # both hips weak: a symmetric large drop ("runway walk"), from the first step
    d: dict[str, Any] = {"hip_drop_deg": 6.0, "hip_drop_side": "both"}
    return [Segment("stand", 10.0), Segment("walk", 30.0, **d), *_walks(m, rng, **d),
            Segment("stand", 10.0)]


def _hike(side: str) -> Callable[[float, np.random.Generator], list[Segment]]:
    def build(m: float, rng: np.random.Generator) -> list[Segment]:
        third = m / 3
        return [*_walks(third, rng),
                *_walks(third, rng, hip_hike_deg=4.0, hip_hike_side=side),
                *_walks(third, rng), Segment("stand", 10.0)]
    return build


def _short_walk(rng: np.random.Generator, **cond: Any) -> list[Segment]:
    # across a room and back: 10 m, a 180 deg turn, 10 m (15-25 s), as in a clinic's test
    leg = float(rng.uniform(6.0, 10.0))
    return [Segment("walk", leg, **cond), Segment("walk", 2.5, turn_deg=180.0, **cond),
            Segment("walk", leg, **cond)]


def _short_walks(drop: bool) -> Callable[[float, np.random.Generator], list[Segment]]:
    def build(m: float, rng: np.random.Generator) -> list[Segment]:
        side = str(rng.choice(["left", "right"]))
        cond: dict[str, Any] = {"hip_drop_deg": 6.0, "hip_drop_side": side} if drop else {}
        out: list[Segment] = [Segment("stand", 8.0)]
        left = m * 60.0
        while left > 0:
            seg = [*_short_walk(rng, **cond), Segment("stand", float(rng.uniform(5, 10))),
                   Segment("sit_down", 2.5), Segment("sit", float(rng.uniform(30, 60))),
                   Segment("stand_up", 2.5), Segment("stand", float(rng.uniform(4, 8)))]
            out += seg
            left -= sum(x.seconds for x in seg)
        return out
    return build


def _home(m: float, rng: np.random.Generator) -> list[Segment]:
    # a morning at home: short walks of 3-9 steps with turns, tasks standing, sitting
    out: list[Segment] = [Segment("sit", 30.0), Segment("stand_up", 2.5)]
    left = m * 60.0
    while left > 0:
        c = int(rng.integers(4))
        if c == 0:  # a few steps to the next room, turning on the way
            seg = [Segment("walk", float(rng.uniform(2.0, 5.0)),
                           turn_deg=float(rng.choice([0, 90, -90, 180]))),
                   Segment("stand", float(rng.uniform(3, 12)))]
        elif c == 1:  # at the counter: weight shifts, bending to a cupboard
            seg = [Segment("weight_shift", 12.0), Segment("bend", 3.0),
                   Segment("stand", float(rng.uniform(5, 20)))]
        elif c == 2:
            seg = [Segment("walk", float(rng.uniform(4.0, 8.0)), turn_deg=180.0),
                   Segment("sit_down", 2.5), Segment("sit", float(rng.uniform(20, 90))),
                   Segment("stand_up", 2.5)]
        else:  # across the flat and back
            seg = [*_short_walk(rng), Segment("stand", float(rng.uniform(3, 8)))]
        out += seg
        left -= sum(x.seconds for x in seg)
    return out


def _seated_start(m: float, rng: np.random.Generator) -> list[Segment]:
    # the unit is switched on while seated: the first still posture is not the neutral
    return [Segment("sit", 60.0), Segment("stand_up", 2.5), Segment("walk", 25.0),
            Segment("stand", 8.0), *_walks(m, rng), Segment("stand", 10.0)]


def _walking_start(m: float, rng: np.random.Generator) -> list[Segment]:
    # recording from the first step: the standing comes later
    return [Segment("walk", 40.0, turn_deg=180.0), Segment("stand", 8.0), *_walks(m, rng),
            Segment("stand", 10.0)]


def _lying_start(m: float, rng: np.random.Generator) -> list[Segment]:
    return [Segment("lie", 60.0), Segment("get_up", 4.0), Segment("stand", 3.0),
            Segment("walk", 30.0), Segment("stand", 6.0), *_walks(m, rng),
            Segment("stand", 10.0)]


def _bending_start(m: float, rng: np.random.Generator) -> list[Segment]:
    out: list[Segment] = []
    for _ in range(3):  # tying shoes, picking things up
        out += [Segment("bend", 4.0), Segment("stand", 1.5)]
    return [*out, Segment("walk", 30.0), Segment("stand", 6.0), *_walks(m, rng),
            Segment("stand", 10.0)]


def _normal_day(m: float, rng: np.random.Generator) -> list[Segment]:
    # normal activity over `m` minutes (45 by default in the benchmarks): long sitting, short
    # walks at home, errands on foot, tasks standing, a rest lying down; no condition at all
    out: list[Segment] = [Segment("sit", 60.0), Segment("stand_up", 2.5)]
    left = m * 60.0
    while left > 0:
        c = int(rng.integers(6))
        if c == 0:
            seg = [Segment("sit_down", 2.5), Segment("sit", float(rng.uniform(120, 420))),
                   Segment("stand_up", 2.5)]
        elif c == 1:
            seg = _home(2.0, rng)
        elif c == 2:
            seg = [*_walks(float(rng.uniform(1.0, 3.0)), rng), Segment("stand", 6.0)]
        elif c == 3:
            seg = [Segment("weight_shift", 20.0), Segment("bend", 4.0),
                   Segment("stand", float(rng.uniform(20, 60)))]
        elif c == 4:
            seg = [*_short_walk(rng), Segment("stand", 5.0)]
        else:
            seg = [Segment("walk", 5.0), Segment("sit_down", 2.5), Segment("lie", 120.0),
                   Segment("get_up", 4.0), Segment("stand", 5.0)]
        out += seg
        left -= sum(x.seconds for x in seg)
    return out


SCENARIOS = {s.name: s for s in [
    Scenario("healthy_walk", "normal walking in bouts with turns and short stops", _healthy),
    Scenario("hip_drop_left", "a middle third of walking with a 6 deg hip drop in left stance",
             _hip_drop("left")),
    Scenario("hip_drop_right", "a middle third of walking with a 6 deg hip drop in right stance",
             _hip_drop("right")),
    Scenario("fatigue", "one long walk whose hip drop in right stance grows from 0.5 to 7 deg",
             _fatigue),
    Scenario("anterior_tilt", "walking and then standing with 8 deg of extra anterior tilt",
             _anterior_tilt),
    Scenario("standing_obliquity", "standing with the right, then the left side 5 deg lower",
             _standing_obliquity),
    Scenario("daily_mix", "sitting, bending, weight shifts, turns, brief drops: no episode",
             _daily_mix),
    Scenario("demo", "a tour: normal walking, hip drop in right stance, standing obliquity, "
             "anterior tilt, sitting", _demo),
    Scenario("mixed", "random conditions of random size and side between random confounders",
             _mixed),
    Scenario("chronic_drop_left", "a 6 deg hip drop in left stance from the very first step",
             _chronic("left"), protocol=False),
    Scenario("chronic_drop_right", "a 6 deg hip drop in right stance from the very first step",
             _chronic("right"), protocol=False),
    Scenario("bilateral_drop", "a 6 deg drop in both stances from the first step (runway walk)",
             _bilateral, protocol=False),
    Scenario("hip_hike_left", "a middle third with the right side raised 4 deg in left stance "
             "(hip hike)", _hike("left")),
    Scenario("hip_hike_right", "a middle third with the left side raised 4 deg in right stance "
             "(hip hike)", _hike("right")),
    Scenario("short_walks", "walks across a room and back (15-25 s) between sitting: no episode",
             _short_walks(False), protocol=False),
    Scenario("short_walks_drop", "the same short walks with a 6 deg drop in one leg's stance "
             "from the first step", _short_walks(True), protocol=False),
    Scenario("home_walks", "a morning at home: walks of 3-9 steps with turns, tasks, sitting",
             _home, protocol=False),
    Scenario("seated_start", "the recording starts seated; standing comes after a walk",
             _seated_start, protocol=False),
    Scenario("walking_start", "the recording starts walking; standing comes later",
             _walking_start, protocol=False),
    Scenario("lying_start", "the recording starts lying on the back", _lying_start,
             protocol=False),
    Scenario("bending_start", "the recording starts with bending down and up",
             _bending_start, protocol=False),
    Scenario("slow_gait", "slow, small steps (75 steps/min, little vertical motion)", _healthy,
             wearer={"cadence_spm": 75.0, "speed_ms": 0.6, "vertical_m": 0.015,
                     "heel_strike_ms2": 1.2, "lateral_m": 0.05}),
    Scenario("asymmetric_gait", "one step shorter than the other (44/56 % of the stride)",
             _healthy, wearer={"step_asymmetry": 0.12}),
    Scenario("wobbly_clip", "normal walking with a loose belt clip (0.8 deg wobble at 9 Hz)",
             _healthy, wearer={"wobble_deg": 0.8, "wobble_hz": 9.0}),
    Scenario("normal_day", "a day of normal activity (use --minutes 45): sitting, short walks, "
             "errands, tasks, a rest lying down; no episode", _normal_day, protocol=False),
]}


def wearer_for(name: str, base: Wearer | None = None) -> Wearer:
    """``base`` (default: the textbook wearer) with scenario ``name``'s changes."""
    return replace(base or Wearer(), **SCENARIOS[name].wearer)


def varied_wearer(rng: np.random.Generator) -> tuple[Wearer, str]:
    """A wearer drawn from the variety of real people and belts, and where the unit sits: the
    side cues' polarities differ (obliquity phase -40..+75 deg: the roll rate after a strike
    changes sign from about +55; lateral sway phase +-35 deg,
    pelvic rotation with or against the leading leg), sway and ranges, asymmetric steps,
    belt-clip wobble in some, every mounting incl. off-centre."""
    w = Wearer(cadence_spm=float(rng.uniform(85, 125)), speed_ms=float(rng.uniform(0.9, 1.5)),
               obliquity_rom_deg=float(rng.uniform(5.5, 11.0)),
               tilt_rom_deg=float(rng.uniform(2.0, 4.0)),
               rotation_rom_deg=float(rng.uniform(5.0, 10.0)),
               lateral_m=float(rng.uniform(0.025, 0.06)),
               roll_phase_deg=float(rng.uniform(-40.0, 75.0)),
               lateral_phase_deg=float(rng.uniform(-35.0, 35.0)),
               rotation_phase_deg=float(rng.choice([0.0, 180.0]) + rng.uniform(-30, 30)),
               step_asymmetry=float(rng.choice([0.0, 0.0, rng.uniform(-0.08, 0.08)])),
               wobble_deg=float(rng.choice([0.0, rng.uniform(0.3, 1.0)])),
               wobble_hz=float(rng.uniform(6.0, 12.0)))
    mount = str(rng.choice(sorted(MOUNTS)))
    return w, mount


def build(name: str, minutes: float, seed: int) -> list[Segment]:
    """The segments of scenario ``name`` (calibration first unless the scenario starts as real
    life does), deterministic for ``seed``."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; try: {', '.join(SCENARIOS)}")
    if not minutes > 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    rng = np.random.default_rng(seed)
    sc = SCENARIOS[name]
    return [*(CALIBRATION if sc.protocol else []), *sc.build(minutes, rng)]


from beltline.sim.exercise_scenarios import EXERCISE_SCENARIOS  # noqa: E402  (issue 17)

SCENARIOS.update(EXERCISE_SCENARIOS)


def _table_stand_in(_minutes: float, _rng: np.random.Generator) -> list[Segment]:
    # what a wearer recording of a table scenario can be (the belt worn throughout): only
    # ``sim.table`` builds the belt on and off the body
    return [Segment("stand", 10.0), Segment("walk", 60.0), Segment("stand", 10.0)]


from beltline.sim.table import TABLE_SCENARIOS  # noqa: E402

SCENARIOS.update({n: Scenario(n, text, _table_stand_in, protocol=False)
                  for n, text in TABLE_SCENARIOS.items()})
