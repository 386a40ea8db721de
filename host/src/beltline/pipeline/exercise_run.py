"""A test or an exercise set from a whole recording, in one call: neutral and attitude
(``bodyframe.prepare``), the frame (the recording's walk if it has one, else the documented
mounting), then the analysis (``trendelenburg.analyse`` or ``reps.analyse_set``)."""

from __future__ import annotations

import logging

import numpy as np

from beltline.exercise_records import TestResult
from beltline.pipeline import bodyframe, reps, trendelenburg
from beltline.pipeline.exercise_settings import ExerciseSettings

log = logging.getLogger(__name__)


def trendelenburg_test(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
         settings: ExerciseSettings | None = None, try_walk: bool = True) -> TestResult:
    """The single-leg stance test of a recording (s, m/s², rad/s, sensor frame)."""
    cfg = settings or ExerciseSettings()
    m = bodyframe.prepare(t, acc, gyr)
    fr = bodyframe.resolve(m, t, acc, gyr, try_walk)
    if fr.source == "mounting":
        log.info("test: the legs are named assuming %s", bodyframe.MOUNTING_WORDS)
    return trendelenburg.analyse(m, fr, cfg)


def exercise_set(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, name: str,
             settings: ExerciseSettings | None = None, try_walk: bool = True) -> reps.SetResult:
    """One exercise's set in a recording that starts with quiet standing."""
    cfg = settings or ExerciseSettings()
    m = bodyframe.prepare(t, acc, gyr)
    fr = bodyframe.resolve(m, t, acc, gyr, try_walk)
    if fr.source == "mounting" and name != "glute_bridge":
        log.info("%s: the working side is named assuming %s", name, bodyframe.MOUNTING_WORDS)
    return reps.analyse_set(m, fr, name, cfg)


__all__ = ["exercise_set", "trendelenburg_test"]
