"""A test or an exercise set live, over a belt unit's link (``beltline test trendelenburg`` and
``beltline exercise NAME`` with a unit, or ``--virtual`` through the virtual unit).

``LiveSet`` runs the walk's own live session (``sessions.live.LiveSession``: the link, the
receiver, the raw record in the store) with the set's preliminary results document, so the
session is of kind ``exercise`` (``test``) from its start and its final analysis is the set's
(the test's) over the complete raw record, the same analysis ``--from`` stores
(``exresults.refresh``). Meanwhile, on the caller's thread, the samples go to ``LiveReps``:
each rep is announced once it settled and, for a compensated rep in training mode, ``BUZZ``
is written to the unit's control characteristic (the unit buzzes it in training mode only,
so the mode is sent at every connection). For the test, the guide's lines are said as the
data of their moment arrive.

The set ends when the link closes (a virtual unit whose wearer is done: its link asks
``wrap_up`` first, so the last reps are judged and buzzed while the unit still listens), when
the guide is over, after ``max_reps`` reps, or at ``stop()`` (Ctrl-C); the reps not announced
yet are then announced and buzzed before the link is stopped.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from beltline.errors import BeltlineError, DataError
from beltline.exercise_records import RepRow
from beltline.firmware import control
from beltline.guide import Guide, Step
from beltline.link.base import Link
from beltline.pipeline.exercise_live import LiveReps, buzz_command
from beltline.pipeline.exercise_settings import ExerciseSettings
from beltline.pipeline.settings import Settings
from beltline.sessions import exresults
from beltline.sessions.live import LiveSession
from beltline.sessions.store import Store
from beltline.words import exercise_name, rep_verdict

log = logging.getLogger(__name__)

TEST = "trendelenburg"
SEND_S = 30.0  # bound on one control write's acknowledgement (a unit that went away)


@dataclass
class LiveResult:
    sid: int
    doc: dict[str, object]  # the final analysis's results document
    announced: list[RepRow]
    buzzes_sent: int


class LiveSet:
    """One test or set over ``link`` into the store at ``store_path``. ``what`` is an
    exercise's name or ``"trendelenburg"``; ``say`` prints a line for the person;
    ``guide_origin_s``: the device second the guide's time 0 is (None: the first sample)."""

    def __init__(self, link: Link, store_path: Path | None, what: str,
                 cfg: ExerciseSettings, settings: Settings, name: str = "",
                 say: Callable[[str], None] = print, steps: list[Step] | None = None,
                 guide_origin_s: float | None = None, max_reps: int | None = None,
                 try_walk: bool = True) -> None:
        self.what = what
        self.cfg = cfg
        self.settings = settings
        self.say = say
        self.max_reps = max_reps
        self.guide = Guide(steps) if steps else None
        self._origin = guide_origin_s
        self.reps = LiveReps(what, cfg, try_walk) if what != TEST else None
        self._in: queue.SimpleQueue[tuple[np.ndarray, np.ndarray, np.ndarray]] = \
            queue.SimpleQueue()
        self._stop = threading.Event()
        self._wrap = threading.Event()  # the link asked: judge the rest now
        self._wrapped = threading.Event()
        self.data_t = float("nan")  # device seconds of the newest sample seen
        self.buzzes_sent = 0
        mode = control.encode(control.MODE, 1 if settings.alert_mode == "training" else 0)
        self.live = LiveSession(link, store_path, settings, name=name,
                                results=exresults.pending_doc(what, cfg),
                                on_samples=self._arrived, on_connect=[mode])
        if self.reps is not None:
            self._show(f"{exercise_name(what).capitalize()}: stand still for 5 s, then start "
                       "the set")

    # --- any thread -------------------------------------------------------------------------
    def stop(self) -> None:
        """End the set (Ctrl-C, or the person is done)."""
        self._stop.set()

    def wrap_up(self) -> bool:
        """Asked by a link about to end (the virtual unit's wearer is done): judge what
        arrived and send its buzzes now; True once that is done."""
        self._wrap.set()
        return self._wrapped.is_set()

    def _arrived(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        self._in.put((t, acc, gyr))  # (the link thread: nothing slow here)

    # --- the caller's thread ----------------------------------------------------------------
    def run(self) -> LiveResult:
        """Run the set to its end; the final analysis's document (a DataError if the raw
        record could not be analysed; the session and its raw record are kept)."""
        live = self.live
        live.start()
        try:
            while not live.done.is_set():
                self._take(block=True)
                if self._wrap.is_set() and not self._wrapped.is_set():
                    self._take(block=False)
                    self._finish_reps()
                    self._wrapped.set()
                if self._stop.is_set() or self._guide_over() or self._enough_reps():
                    self._take(block=False)
                    self._finish_reps()
                    live.stop()
                    break
        except KeyboardInterrupt:
            log.info("stopping: the set ends here")
            self._take(block=False)
            self._finish_reps()
            live.stop()
        live.done.wait()
        self._take(block=False)
        self._finish_reps()  # the link closed by itself: what is left is announced unbuzzed
        if live.state.error:
            raise BeltlineError(live.state.error)
        sid = live.state.session_id
        if sid is None:
            raise BeltlineError("the session was not recorded")
        with Store(live.store_path) as store:
            doc = store.results(sid)
            if doc is None or doc.get("pending"):
                try:  # the final analysis failed: its reason, in one line
                    exresults.refresh(store, sid)
                except DataError as exc:
                    raise DataError(f"session {sid} keeps the raw record, but it could not be "
                                    f"analysed: {exc}") from exc
                doc = store.results(sid)
        assert doc is not None
        announced = self.reps.reps if self.reps is not None else []
        return LiveResult(sid, doc, list(announced), self.buzzes_sent)

    def _take(self, block: bool) -> None:
        """What arrived, through the reps and the guide."""
        parts = []
        try:
            parts.append(self._in.get(timeout=0.2) if block else self._in.get_nowait())
            while True:
                parts.append(self._in.get_nowait())
        except queue.Empty:
            pass
        if not parts:
            return
        t = np.concatenate([p[0] for p in parts])
        self.data_t = float(t[-1])
        if self._origin is None:
            self._origin = float(t[0])
        self._say_guide()
        if self.reps is not None:
            for r in self.reps.push(t, np.concatenate([p[1] for p in parts]),
                                    np.concatenate([p[2] for p in parts])):
                self._announce(r)

    def _say_guide(self) -> None:
        if self.guide is None or self._origin is None:
            return
        for line in self.guide.at(self.data_t - self._origin):
            self.say(line)
            if not line.startswith(" "):  # (not the countdown's seconds)
                self._show(line)

    def _show(self, line: str) -> None:
        """The progress for the live page (``LiveState.live_set``)."""
        st = self.live.state
        with st.lock:
            st.live_set = line

    def _finish_reps(self) -> None:
        if self.reps is not None:
            for r in self.reps.finish():
                self._announce(r)

    def _announce(self, r: RepRow) -> None:
        said = rep_verdict(r.rep, r.side, r.flag, r.reason, r.obliquity_change_deg,
                           r.tilt_change_deg, r.rotation_deg)
        self.say(said)
        self._show(f"{exercise_name(self.what).capitalize()}: {r.rep} "
                   f"rep{'s' * (r.rep != 1)} — last: {said}")
        cmd = buzz_command(r, self.settings.alert_mode)
        if cmd is None:
            return
        if self.live.done.is_set():
            log.info("rep %d: the unit is gone, no buzz", r.rep)
            return
        try:
            self.live.send_now(cmd).result(SEND_S)
            self.buzzes_sent += 1
        except (ConnectionError, OSError, concurrent.futures.TimeoutError) as exc:
            log.warning("rep %d: could not buzz the unit: %s", r.rep, exc or "no answer")

    def _guide_over(self) -> bool:
        g = self.guide
        return g is not None and self._origin is not None and \
            self.data_t - self._origin > g.seconds

    def _enough_reps(self) -> bool:
        return self.max_reps is not None and self.reps is not None and \
            len(self.reps.reps) >= self.max_reps


__all__ = ["TEST", "LiveResult", "LiveSet"]
