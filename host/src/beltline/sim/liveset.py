"""The virtual wearer doing a set or the single-leg stance test on the virtual belt unit (the
firmware in MicroPython, its Bluetooth on Bumble: ``sim.unit.VirtualBleLink``), for the live
``beltline exercise NAME --virtual`` and ``beltline test trendelenburg --virtual``. The motion
is the exercise simulator's (``sim.exercises``, ``sim.trendelenburg``: the same rigid-body
model), sampled at the unit's IMU rate and fed to its IMU."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from beltline.guide import Step, schedule
from beltline.pipeline.exercise_settings import ExerciseSettings
from beltline.sim.exercises import SetRecording, random_plan, simulate_set
from beltline.sim.rigid import Samples
from beltline.sim.trendelenburg import TestRecording, plan_from_guide, simulate_test
from beltline.sim.unit import ODR, VirtualBleLink
from beltline.sim.wearer import Recording

# the unit walks at real time while the host finds it, pairs and syncs (VirtualBleLink), and
# what it measured before the link was up does not reach the host: the wearer stands this
# much longer first, so the neutral standing a set or the test starts with arrives whole
LEAD_IN_S = 4.0
IMU = "lsm6dso"


def as_recording(s: Samples) -> Recording:
    """The samples as the recording a virtual unit's IMU is fed (no walk truth: NaN, "")."""
    n = len(s.t)
    nan = np.full(n, np.nan)
    return Recording(s.t, s.acc, s.gyr, nan, nan.copy(), np.full(n, "other"), np.full(n, ""))


def virtual_set(exercise: str, cfg: ExerciseSettings, seed: int, reps: int | None,
                speed: float, compensated: float | None = None) -> tuple[VirtualBleLink,
                                                                         SetRecording]:
    """A random set of ``exercise`` (``sim.exercises.random_plan``: ``compensated`` the share
    of compensated reps) worn by a virtual unit."""
    plan = random_plan(exercise, np.random.default_rng(seed), cfg, reps=reps,
                       compensated=compensated)
    plan = replace(plan, quiet_s=plan.quiet_s + LEAD_IN_S)
    rec = simulate_set(plan, ODR[IMU], seed=seed, settings=cfg)
    return VirtualBleLink(as_recording(rec.samples), speed, imu=IMU), rec


def virtual_test(first: str, drops: dict[str, float], seed: int,
                 speed: float, cfg: ExerciseSettings) -> tuple[VirtualBleLink, list[Step],
                                                              TestRecording]:
    """The guided test (``guide.schedule``) by a wearer who does what it says, with these
    swing-side drops per stance leg, worn by a virtual unit. The guide's time 0 is the unit's
    power-on (device second 0)."""
    steps = schedule(first, quiet_s=8.0 + LEAD_IN_S)
    plan = plan_from_guide(steps, drops, np.random.default_rng(seed))
    rec = simulate_test(plan, ODR[IMU], seed=seed, settings=cfg)
    return VirtualBleLink(as_recording(rec.samples), speed, imu=IMU), steps, rec


__all__ = ["LEAD_IN_S", "as_recording", "virtual_set", "virtual_test"]
