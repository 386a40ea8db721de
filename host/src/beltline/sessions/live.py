"""A live session: link -> receiver -> pipeline -> store, and a snapshot for the dashboard.

Why this module is large: one session's loop owns the link's states, the receiver, the raw
record, the unit's commands (clock, calibration) and the live state together, on one thread;
split, each part would reach into the others' state under the same lock.

``LiveSession`` runs the link in a thread of its own (an asyncio loop), so the web server's
threads only ever read ``LiveState`` under its lock. Everything the dashboard shows is bounded
(the last 30 s of angles, the last strides), so an hour or a day of running does not grow.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from beltline.errors import BeltlineError, StoreError
from beltline.firmware import config as unit_config
from beltline.firmware import control
from beltline.link.base import ClockPoint, Link, LinkState, Notification
from beltline.link.gatt import (
    FLAG_ALERT,
    FLAG_BACKLOG,
    FLAG_LOW_BATTERY,
    FLAG_PAIRING,
    FLAG_SECURE,
)
from beltline.link.receiver import RawChunk, Receiver
from beltline.pipeline import Pipeline
from beltline.pipeline.calibration import CalibrationError, CalibrationProgress
from beltline.pipeline.episodes import Episode, OpenEpisode
from beltline.pipeline.output import Output
from beltline.pipeline.settings import Settings, as_dict
from beltline.records import RawBlock, RawFormat
from beltline.sessions import finish
from beltline.sessions.recorder import Recorder
from beltline.sessions.store import Store

log = logging.getLogger(__name__)

DISPLAY_HZ = 25  # angles kept for the screen (the pipeline itself runs at 100 Hz)
FEED_BLOCK_S = 0.25  # the live pipeline takes its input in blocks this long (see _feed)
WINDOW_S = 30.0
STRIDES = 12  # per-side drop over this many recent strides
@dataclass
class LiveState:
    """What the dashboard reads. ``seq`` numbers every display sample, so each browser tab asks
    only for what it has not drawn yet."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    seq: int = 0
    points: deque[tuple[int, float, float, float]] = field(
        default_factory=lambda: deque(maxlen=int(WINDOW_S * DISPLAY_HZ)))
    arrival: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=256))
    connection: str = "connecting"
    device: str = ""
    battery_pct: float | None = None
    rssi_dbm: float | None = None
    calibrated: bool = False
    activity: str = ""
    cadence_spm: float | None = None
    stance: str = ""
    drops: dict[str, deque[float]] = field(default_factory=lambda: {
        "left": deque(maxlen=STRIDES), "right": deque(maxlen=STRIDES)})
    active: list[tuple[str, str]] = field(default_factory=list)
    open_episodes: list[OpenEpisode] = field(default_factory=list)
    calibration: CalibrationProgress | None = None
    # the wearer's own swing-side drop per stance leg (calibration walk), once measured
    references: dict[str, float] = field(default_factory=dict)
    last_stance: dict[str, tuple[float, float]] = field(default_factory=dict)  # t_s, drop
    stance_t: float = float("nan")  # the latest stance's strike (device seconds)
    held_obliquity: float | None = None  # the last second's mean (display samples)
    episodes: deque[Episode] = field(default_factory=lambda: deque(maxlen=200))
    packets: int = 0
    missing_samples: int = 0
    duplicates: int = 0
    rejected: int = 0
    gaps: int = 0
    recording: bool = False
    session_id: int | None = None
    error: str = ""
    data_t: float = 0.0  # device seconds of the latest sample
    unit: dict[str, object] = field(default_factory=dict)  # the unit's own status record
    live_set: str = ""  # a live test or set: its progress in words (sessions.liveset)


SampleSink = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class LiveSession:
    """Runs ``link`` through the pipeline into ``store`` until stopped.

    A test or an exercise set recorded live (``sessions.liveset``) gives ``results``, its
    preliminary results document: the session is of that kind from its start, so the final
    analysis at its end (or ``repair`` after a crash) is the test's or the set's, over the
    raw record (``finish.finalise``). ``on_samples`` sees the in-order raw samples as they
    arrive (in the link thread: it must be quick), ``on_connect`` are control commands sent at
    every connection, and ``send_now`` writes one from any thread."""

    def __init__(self, link: Link, store_path: Path | None = None,
                 settings: Settings | None = None, name: str = "", record: bool = True,
                 results: Mapping[str, object] | None = None,
                 on_samples: SampleSink | None = None,
                 on_connect: Sequence[bytes] = ()) -> None:
        self.link = link
        self.store_path = store_path
        self.store: Store | None = None  # opened in the link thread (SQLite is per thread)
        self.settings = settings or Settings()
        self.name = name
        self.state = LiveState()
        self.pipeline = Pipeline(self.settings, live=True)
        self._record_on_start = record
        self._recorder: Recorder | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self._commands: deque[str] = deque()
        self._last_display_t = -1.0
        self.receiver: Receiver | None = None
        self._asked = 0
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending_n = 0
        self._pending_arrived: float | None = None
        self._feed_n = 1  # samples per pipeline block, set from the link's rate
        self._progress_n = -(10**9)
        self._asked_epoch = 0
        self._clock: list[ClockPoint] = []  # the time sync of every connection
        self._sent_cal: object = None  # the calibration last sent to the unit
        self.sent_commands: list[bytes] = []
        self._fmt: RawFormat | None = None  # the unit's raw format, once connected
        self._finishing: list[threading.Thread] = []
        self.results = dict(results) if results is not None else None
        self.on_samples = on_samples
        self.on_connect = tuple(on_connect)
        self.done = threading.Event()

    # --- control (any thread) ---------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="beltline-live", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the link (it disconnects the unit) and close the recording."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def calibrate(self) -> None:
        """Ask for a new calibration: stand still, then walk."""
        self._commands.append("calibrate")

    def set_recording(self, on: bool) -> None:
        self._commands.append("record" if on else "pause")

    def send_now(self, command: bytes) -> concurrent.futures.Future[None]:
        """Write ``command`` to the unit's control characteristic from any thread; the future
        is done once the unit acknowledged the write (or holds the link's error)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            raise ConnectionError("the live session is not running")
        return asyncio.run_coroutine_threadsafe(self._send(command), loop)

    async def _send(self, command: bytes) -> None:
        await self.link.send(command)
        self.sent_commands.append(bytes(command))

    # --- the link thread --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BeltlineError as exc:
            log.error("%s", exc)
            with self.state.lock:
                self.state.error = str(exc)
        except (Exception, asyncio.CancelledError) as exc:  # the page must show it
            log.exception("live session failed")
            with self.state.lock:
                self.state.error = f"{type(exc).__name__}: {exc}"
        finally:
            for t in self._finishing:  # the final analyses of the sessions recorded
                t.join()
            self.done.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.store = Store(self.store_path)
        try:
            if self._record_on_start:
                self._open_recording()
            await self._stream()
        finally:
            self._close_recording()
            self.store.close()

    async def _stream(self) -> None:
        async with self.link:
            info = self.link.info
            assert info is not None
            rx = Receiver(info.rate_hz, keep_late=True)
            self.receiver = rx
            self._feed_n = max(1, round(FEED_BLOCK_S * info.rate_hz))
            self._connected(info.rate_hz, f"{info.name} ({info.address})", info.firmware)
            with self.state.lock:
                self.state.device = f"{info.name} ({info.address}, firmware {info.firmware})"
            t_start = time.monotonic()
            async for item in self.link.notifications():
                if self._stop.is_set():
                    break
                if self._commands:
                    self._push_pending()  # a command acts after what came before it
                self._do_commands()
                if isinstance(item, LinkState):
                    self._on_state(item)
                    if item.state == "lost":
                        for chunk in rx.flush():
                            self._on_chunk(chunk)
                        self._push_pending()
                    elif item.state == "connected":
                        for chunk in rx.on_connected(item.clock):  # a new boot: a new epoch
                            self._on_chunk(chunk)
                        self._on_clock(item.clock)
                        self._sent_cal = None  # (re)send the calibration to this link
                        await self._send_on_connect()
                    continue
                assert isinstance(item, Notification)
                arrived = time.monotonic()
                for chunk in rx.push(item.payload):
                    self._on_chunk(chunk, arrived)
                for chunk in rx.take_late():
                    self._on_chunk(chunk)
                await self._ask_for_gaps(rx)
                await self._send_calibration()
                self._update_counters(rx, t_start)
            for chunk in rx.flush():
                self._on_chunk(chunk)
            for chunk in rx.take_late():
                self._on_chunk(chunk)
            self._push_pending()
            try:
                out = self.pipeline.finish()
            except CalibrationError as exc:
                if self.results is None:
                    raise
                # a test or a set: no walk to calibrate on; its own analysis is the final one
                log.debug("the walk pipeline: %s", exc)
                out = Output()
            self._absorb(out)
        with self.state.lock:
            self.state.connection = "closed"

    async def _ask_for_gaps(self, rx: Receiver) -> None:
        """Ask a unit with a logbook for each span the timeline reports missing. What comes
        back is stored in its place (``late``); the live pipeline has moved on, the final
        analysis at the session's end has it."""
        ask = getattr(self.link, "request_replay", None)
        if rx.epochs != self._asked_epoch:  # a new boot: its gaps are counted afresh
            self._asked_epoch, self._asked = rx.epochs, 0
        while ask is not None and self._asked < len(rx.gaps):
            g = rx.gaps[self._asked]
            self._asked += 1
            try:
                await ask(g.start & 0xFFFFFFFF, g.end & 0xFFFFFFFF)
            except (ConnectionError, OSError) as exc:
                log.info("could not ask for the missing span: %s", exc)

    async def _send_calibration(self) -> None:
        """After each calibration: the mount, the wearer's thresholds and the alert mode to
        the unit, which keeps them (so its own alerts judge calibrated pelvis angles, with or
        without this host)."""
        cal = self.pipeline.calibration
        if cal is None or cal is self._sent_cal or self.state.connection == "lost":
            return  # (after a drop: at the next connection)
        s = self.settings
        ref = float(np.mean(cal.walk_drop_deg))  # the unit has one rule for both sides
        lim = unit_config  # the unit refuses values outside its limits: send them within
        cmds = [control.encode(control.SET_MOUNT, *np.asarray(cal.R, float).reshape(-1)),
                control.encode(control.THRESHOLDS,
                               float(np.clip(ref + s.hip_drop_deg, *lim.DROP_DEG)),
                               float(np.clip(s.anterior_tilt_deg, *lim.TILT_DEG)),
                               float(np.clip(s.min_episode_s, *lim.DWELL_S))),
                control.encode(control.MODE, 1 if s.alert_mode == "training" else 0)]
        try:
            for c in cmds:
                await self.link.send(c)
                self.sent_commands.append(c)
        except (ConnectionError, OSError) as exc:
            log.info("could not send the calibration to the unit yet: %s", exc)
            return
        self._sent_cal = cal
        log.info("calibration sent to the unit (mount, thresholds, %s mode)", s.alert_mode)

    async def _send_on_connect(self) -> None:
        try:
            for c in self.on_connect:
                await self._send(c)
        except (ConnectionError, OSError) as exc:
            log.info("could not send the unit its commands yet: %s", exc)

    def _on_clock(self, point: ClockPoint | None) -> None:
        if point is None:
            return
        # its tick on the raw record's axis (the receiver places a reboot's ticks after the
        # earlier ones)
        shift = self.receiver.offset_ticks if self.receiver is not None else 0
        self._clock.append(dataclasses.replace(point, tick=point.tick + shift))
        store = self.store
        if store is not None:
            rows = [(p.boot_id, p.tick, p.wall_unix, p.rate_hz) for p in self._clock]
            self._guard(lambda r: store.set_clock(r.sid, rows))

    def _do_commands(self) -> None:
        while self._commands:
            c = self._commands.popleft()
            if c == "calibrate":
                self.pipeline.recalibrate()
                with self.state.lock:
                    self.state.calibrated = False
                log.info("recalibrating: stand still for 10 s, then walk for 30 s")
            elif c == "record" and self._recorder is None:
                self._open_recording()
            elif c == "pause":
                self._close_recording()

    # --- recording: the raw record first, the live preview beside it ------------------------
    def _open_recording(self) -> None:
        assert self.store is not None
        try:
            self._recorder = Recorder.start(self.store, "live", name=self.name,
                                            link=self.link.source,
                                            settings=dict(as_dict(self.settings)))
            if self.link.info is not None:
                info = self.link.info
                self.store.set_device(self._recorder.sid, f"{info.name} ({info.address})",
                                      info.firmware)
            if self.results is not None:  # a test or a set: its kind from the start
                from beltline.sessions import exresults

                self.store.set_results(self._recorder.sid, exresults.kind_of(self.results),
                                       self.results)
        except StoreError as exc:
            self._recording_failed(exc)
            return
        with self.state.lock:
            self.state.recording = True
            self.state.session_id = self._recorder.sid

    def _connected(self, rate_hz: float, device: str, firmware: str) -> None:
        self._fmt = RawFormat.wire(rate_hz)
        if self._recorder is not None and self.store is not None:
            self._guard(lambda r: self.store.set_device(r.sid, device, firmware))  # type: ignore

    def _on_chunk(self, chunk: RawChunk, arrived: float | None = None) -> None:
        """Store the raw samples (before anything else can fail), then, unless they came late,
        through the live pipeline."""
        if self._recorder is not None and self._fmt is not None and chunk.ticks is not None:
            block = RawBlock(chunk.ticks, chunk.acc, chunk.gyr)
            fmt = self._fmt
            self._guard(lambda r: r.raw(block, fmt, late=chunk.late))
        if not chunk.late:
            if self.on_samples is not None:
                self.on_samples(chunk.t, chunk.acc, chunk.gyr)
            self._feed(chunk.t, chunk.acc, chunk.gyr, arrived)

    def _guard(self, write: Callable[[Recorder], None]) -> None:
        """A write to the store; if it fails (a full disk), the recording stops and says so,
        while the live view goes on."""
        rec = self._recorder
        if rec is None:
            return
        try:
            write(rec)
        except StoreError as exc:
            self._recording_failed(exc)

    def _recording_failed(self, exc: StoreError) -> None:
        rec, self._recorder = self._recorder, None
        if rec is not None:
            rec.release()  # the next start finishes the session from what was committed
        why = "the disk is full" if exc.reason == "full" else str(exc)
        log.error("recording stopped: %s (the live view goes on)", exc)
        with self.state.lock:
            self.state.recording = False
            self.state.error = (f"Recording stopped: {why}. The live view goes on; what was "
                                "recorded until now is kept.")

    def _close_recording(self) -> None:
        """Commit what is queued; the final analysis (the batch pipeline over the complete raw
        record, which then closes the session) runs in a thread of its own with its own
        connection, so the live view never waits for it."""
        rec, self._recorder = self._recorder, None
        with self.state.lock:
            self.state.recording = False
        if rec is None or self.store is None:
            return
        try:
            rec.flush(all_samples=True)
            if self._clock:  # the unit's ticks against the wall clock, per connection
                self.store.set_clock(rec.sid, [(p.boot_id, p.tick, p.wall_unix, p.rate_hz)
                                               for p in self._clock])
        except StoreError as exc:
            log.error("could not commit session %d: %s (the next start finishes it)",
                      rec.sid, exc)
            rec.release()
            return
        cal = self.pipeline.calibration
        t = threading.Thread(target=self._finish, args=(rec, cal.as_dict() if cal else None),
                             name=f"beltline-finish-{rec.sid}", daemon=True)
        self._finishing.append(t)
        t.start()

    def _finish(self, rec: Recorder, calibration: dict[str, object] | None) -> None:
        try:
            with Store(self.store_path) as store:
                try:
                    log.info("session %d: final analysis of its raw record", rec.sid)
                    finish.finalise(store, rec.sid, self.settings, ended_unix=time.time())
                except StoreError:
                    raise
                except BeltlineError as exc:  # no raw record (an angles-only link)
                    log.info("session %d: %s; the live results stay", rec.sid, exc)
                    store.close_session(rec.sid, calibration)
        except StoreError as exc:
            log.error("could not close session %d: %s (the next start finishes it)",
                      rec.sid, exc)
        except Exception:  # a session left open is finished at the next start
            log.exception("the final analysis of session %d failed", rec.sid)
        finally:
            rec.release()

    def _on_state(self, s: LinkState) -> None:
        with self.state.lock:
            self.state.connection = s.state
            if s.state == "failed":
                self.state.error = s.reason
        if s.state == "lost":
            log.warning("belt unit lost: reconnecting (the recording goes on; the gap is kept)")
        elif s.state == "connected":
            log.info("belt unit connected")

    def _feed(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
              arrived: float | None = None) -> None:
        """Queue samples for the pipeline, which takes them in blocks of ``FEED_BLOCK_S``: its
        cost is mostly per call, so packets of 4 samples would cost ~10x a quarter second's
        block, and the results do not depend on how the input is cut (chunk-invariance tests).
        The latency figure keeps the first packet's arrival, so it includes the wait."""
        self._pending.append((t, acc, gyr))
        self._pending_n += len(t)
        if self._pending_arrived is None:
            self._pending_arrived = arrived
        if self._pending_n >= self._feed_n:
            self._push_pending()

    def _push_pending(self) -> None:
        if not self._pending:
            return
        parts, arrived = self._pending, self._pending_arrived
        self._pending, self._pending_n, self._pending_arrived = [], 0, None
        out = self.pipeline.push(np.concatenate([p[0] for p in parts]),
                                 np.concatenate([p[1] for p in parts]),
                                 np.concatenate([p[2] for p in parts]))
        self._absorb(out, arrived)

    def _absorb(self, out: Output, arrived: float | None = None) -> None:
        if self._recorder is not None:
            rows = out.rows()
            self._guard(lambda r: r.write(rows))
        st = self.state
        with st.lock:
            for t, o, p in out.now:
                # thin to the display rate; one arrival stamp per batch for the latency figure
                for ti, oi, pi in zip(t.tolist(), o.tolist(), p.tolist(), strict=True):
                    if ti - self._last_display_t >= 1.0 / DISPLAY_HZ - 1e-6:
                        self._last_display_t = ti
                        st.seq += 1
                        st.points.append((st.seq, ti, oi, pi))
                if arrived is not None and len(t):
                    st.arrival.append((st.seq, arrived))
                if len(t):
                    st.data_t = float(t[-1])
            st.calibrated = self.pipeline.calibration is not None
            if len(out.activity):
                st.activity = str(out.activity[-1])
            for t_s, side, step in out.steps:
                st.stance = side
                st.stance_t = t_s
                if np.isfinite(step.drop_deg):
                    st.drops[side].append(step.drop_deg)
                    st.last_stance[side] = (t_s, step.drop_deg)
                if np.isfinite(step.cadence_spm):
                    st.cadence_spm = step.cadence_spm
            st.active = self.pipeline.diagnostics().active_episodes
            st.episodes.extend(out.episodes)
            if out.now:
                recent = [p[2] for p in itertools.islice(reversed(st.points), DISPLAY_HZ)]
                st.held_obliquity = sum(recent) / len(recent) if recent else None
            # a quarter of a second of input between looks (the guidance moves in seconds),
            # and at once when an episode closed (never listed both open and closed)
            if self.pipeline.samples_in - self._progress_n >= 25 or out.episodes:
                self._progress_n = self.pipeline.samples_in
                st.calibration, st.references = calibration_progress(self.pipeline)
                st.open_episodes = self.pipeline.detectors.open_episodes()

    def _update_counters(self, rx: Receiver, t_start: float) -> None:
        s = rx.stats
        st = getattr(self.link, "status", None)  # what the unit itself says (BLE links)
        rssi = getattr(self.link, "rssi_dbm", None)
        with self.state.lock:
            self.state.packets = s.packets
            self.state.missing_samples = s.missing_samples
            self.state.duplicates = s.duplicates
            self.state.rejected = s.rejected_total
            self.state.gaps = s.gaps
            self.state.rssi_dbm = float(rssi) if rssi is not None else None
            if st is not None:
                self.state.battery_pct = float(st.battery_pct)
                flags = [w for bit, w in ((FLAG_LOW_BATTERY, "low battery"),
                                          (FLAG_ALERT, "alert"), (FLAG_PAIRING, "pairing"),
                                          (FLAG_SECURE, "paired"),
                                          (FLAG_BACKLOG, "catching up")) if st.flags & bit]
                self.state.unit = {
                    "firmware": st.firmware, "rate_hz": st.rate_hz,
                    "mode": "training" if st.mode else "tracking", "flags": flags,
                    "imu_overruns": st.imu_overruns, "notify_errors": st.notify_errors,
                    "logbook_records": st.logbook_records, "refused": st.refused,
                    "epochs": rx.epochs + 1}


def snapshot(state: LiveState, after_seq: int) -> dict[str, object]:
    """A copy of what a tab needs: display points newer than ``after_seq`` and the rest."""
    with state.lock:
        # newest first, up to the tab's last point: the cost is the new points, not the window
        pts = list(itertools.takewhile(lambda p: p[0] > after_seq, reversed(state.points)))
        pts.reverse()
        lat = list(itertools.takewhile(lambda a: a[0] > after_seq, reversed(state.arrival)))
        lat.reverse()
        return {
            "points": pts, "arrival": lat[-1][1] if lat else None,
            "connection": state.connection, "device": state.device,
            "battery_pct": state.battery_pct, "rssi_dbm": state.rssi_dbm,
            "calibrated": state.calibrated, "activity": state.activity,
            "cadence_spm": state.cadence_spm, "stance": state.stance,
            "drops": {k: list(v) for k, v in state.drops.items()},
            "active": list(state.active), "episodes": list(state.episodes),
            "packets": state.packets, "missing": state.missing_samples,
            "duplicates": state.duplicates, "rejected": state.rejected, "gaps": state.gaps,
            "recording": state.recording, "session_id": state.session_id,
            "error": state.error, "seq": state.seq, "unit": dict(state.unit),
            "open_episodes": list(state.open_episodes), "calibration": state.calibration,
            "references": dict(state.references), "last_stance": dict(state.last_stance),
            "stance_t": state.stance_t, "held_obliquity": state.held_obliquity,
            "data_t": state.data_t, "live_set": state.live_set,
        }


def calibration_progress(p: Pipeline) -> tuple[CalibrationProgress, dict[str, float]]:
    """The calibration's progress and the wearer's reference drop per stance leg."""
    d = p.diagnostics()
    refs = {"left": d.walk_drop_deg[0], "right": d.walk_drop_deg[1]} if d.walk_drop_deg \
        else {}
    return d.calibration, refs
