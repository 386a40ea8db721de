"""Reps as a set goes on: the recording so far analysed again every ``EVERY_S`` of new data
(``exercise_run.exercise_set``, the one analysis), each rep announced once it has settled, and
the unit's buzz for a flagged rep when the alert mode is training. A glute bridge's first
announcement waits for ``FIRST_AFTER`` settled reps (see there).

The looks are at fixed data times, each over the data up to it, so the same samples give
the same announcements however they were cut into pushes. A rep is settled once it ended
``SETTLE_S`` before the look's time (the analysis finds a rep's end when the pelvis is back
at rest, and an analysis of more data does not move it); it is announced once: a later
analysis's rep overlapping one already announced is the same rep. The buzz: ``control.BUZZ``
with ``BUZZ_PULSES`` pulses, sent by the caller over its link; the unit buzzes it in
training mode only (``firmware/control.py``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import numpy as np

from beltline.errors import DataError
from beltline.exercise_records import RepRow
from beltline.firmware import control
from beltline.pipeline import exercise_run
from beltline.pipeline.exercise_settings import ExerciseSettings

log = logging.getLogger(__name__)

EVERY_S = 2.0
SETTLE_S = 2.0
MAX_LOOKS = 3  # looks per push at most (a burst of data far behind: only its last ones)
# reps settled before the first announcement: the bridge's left-right axis is the median of
# its reps' own rotation axes, so its first reps' obliquity (and flags) need about three reps
# to settle; the others are judged from rest to top alone
FIRST_AFTER = {"glute_bridge": 3}
BUZZ_PULSES = 2  # a short double buzz, as the unit's own alert (firmware/app.py)


def buzz_command(row: RepRow, alert_mode: str) -> bytes | None:
    """The control command for a rep: a buzz for a compensated rep in training mode."""
    if row.flag == "compensated" and alert_mode == "training":
        return control.encode(control.BUZZ, BUZZ_PULSES)
    return None


class LiveReps:
    """The reps of ``exercise`` from samples pushed as they arrive (s, m/s², rad/s)."""

    def __init__(self, exercise: str, settings: ExerciseSettings | None = None,
                 try_walk: bool = False) -> None:
        self.exercise = exercise
        self.cfg = settings or ExerciseSettings()
        self.try_walk = try_walk
        self._t: list[np.ndarray] = []
        self._acc: list[np.ndarray] = []
        self._gyr: list[np.ndarray] = []
        self._next = np.inf  # the data time of the next look
        self.reps: list[RepRow] = []  # announced, in order

    def push(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> list[RepRow]:
        """Add samples; the reps that settled since the last call (numbered in order).

        The looks are at fixed data times (every ``EVERY_S`` from the first sample), each over
        the data up to its time: what is announced does not depend on how the samples were cut
        into pushes (a link delivers bigger batches when the machine is loaded)."""
        if len(t):
            if not self._t:
                self._next = float(t[0]) + EVERY_S
            self._t.append(np.asarray(t, float))
            self._acc.append(np.asarray(acc, float))
            self._gyr.append(np.asarray(gyr, float))
        if not self._t:
            return []
        end = float(self._t[-1][-1])
        behind = int((end - self._next) // EVERY_S)
        if behind > MAX_LOOKS:  # a burst far behind: its last looks only
            self._next += (behind - MAX_LOOKS) * EVERY_S
        new: list[RepRow] = []
        while end >= self._next:
            new += self._analyse(self._next, final=False)
            self._next += EVERY_S
        return new

    def finish(self) -> list[RepRow]:
        """The set is over: every rep not announced yet."""
        if not self._t:
            return []
        return self._analyse(float(self._t[-1][-1]), final=True)

    def _analyse(self, end: float, final: bool) -> list[RepRow]:
        if len(self._t) > 1:  # joined once: the next look appends to one array
            self._t = [np.concatenate(self._t)]
            self._acc = [np.concatenate(self._acc)]
            self._gyr = [np.concatenate(self._gyr)]
        n = int(np.searchsorted(self._t[0], end, side="right"))
        t, acc, gyr = self._t[0][:n], self._acc[0][:n], self._gyr[0][:n]
        try:
            with _quiet():
                res = exercise_run.exercise_set(t, acc, gyr, self.exercise, self.cfg,
                                                self.try_walk)
        except DataError as exc:  # not in position yet, or the neutral still to come
            log.debug("live reps: %s", exc)
            return []
        settled = [r for r in res.rows if final or r.end_s <= end - SETTLE_S]
        if not self.reps and len(settled) < FIRST_AFTER.get(self.exercise, 1):
            return []
        new = []
        for r in settled:
            if any(min(r.end_s, a.end_s) - max(r.start_s, a.start_s) > 0 for a in self.reps):
                continue
            row = RepRow(len(self.reps) + 1, r.start_s, r.end_s, r.side, r.flag, r.reason,
                         r.obliquity_change_deg, r.tilt_change_deg, r.rotation_deg)
            self.reps.append(row)
            new.append(row)
        return new


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The analysis's notes and warnings (the frame found, no walk to calibrate on, the set in
    words) once, from the final analysis, not at every look: each look at the growing record
    would say them again."""
    lg = logging.getLogger("beltline.pipeline")
    level = lg.level
    if not log.isEnabledFor(logging.DEBUG):
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        lg.setLevel(level)


__all__ = ["BUZZ_PULSES", "EVERY_S", "FIRST_AFTER", "SETTLE_S", "LiveReps", "buzz_command"]
