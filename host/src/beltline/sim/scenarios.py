"""Scenario library for the virtual wearer. Every scenario starts with the calibration protocol.

Calibration protocol (for real wearers too): clip the unit on the belt, stand still and relaxed
for 10 s looking ahead, feet hip-width apart (this sets the neutral: zero obliquity and tilt),
then walk normally in a straight line for 30 s (this finds forward and left from the gait).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from beltline.sim.wearer import Segment

CALIBRATION = [Segment("stand", 10.0), Segment("walk", 30.0)]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    build: Callable[[float, np.random.Generator], list[Segment]]


def _walks(minutes: float, rng: np.random.Generator, **cond: object) -> list[Segment]:
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
]}


def build(name: str, minutes: float, seed: int) -> list[Segment]:
    """The segments of scenario ``name`` (calibration first), deterministic for ``seed``."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; try: {', '.join(SCENARIOS)}")
    if not minutes > 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    rng = np.random.default_rng(seed)
    return [*CALIBRATION, *SCENARIOS[name].build(minutes, rng)]


from beltline.sim.exercise_scenarios import EXERCISE_SCENARIOS  # noqa: E402  (issue 17)

SCENARIOS.update(EXERCISE_SCENARIOS)
