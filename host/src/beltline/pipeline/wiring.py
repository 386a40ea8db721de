"""The host pipeline: raw samples in, angles, activity, steps and episodes out.

    samples (any rate 50-200 Hz, irregular) -> Resampler (100 Hz grid; gaps found, counted)
    -> Attitude (VQF 6-D) -> StepCandidates (axis-free) -> Calibrator (neutral + pelvis axes;
    until then the samples wait in its buffer) -> PelvisSignals -> StepTracker (steps, stance
    side) -> ActivityClassifier (per 0.1 s) -> Evidence (per stance, per second, against the
    wearer's references) -> Detectors (sustained episodes)

``Pipeline.push`` takes any chunk (a BLE packet's few samples or a whole file) and returns what
became final; ``finish`` flushes the end. Every stage is a class with its parameters frozen and
its state carried between chunks, so a recording gives the same result however it is chunked:
live equals batch (tested). Results lag the input by about ``ActivityParams.delay_s``.
The Pipeline only wires the stages; ``diagnostics()`` says how each is doing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np

from beltline.frames import GRAVITY_MS2
from beltline.pipeline.activity import ActivityClassifier, ActivityParams
from beltline.pipeline.attitude import Attitude, AttitudeParams
from beltline.pipeline.calibration import (
    SEC,
    Calibration,
    CalibrationParams,
    CalibrationProgress,
    Calibrator,
    PelvisSignals,
    angles_deg,
)
from beltline.pipeline.episodes import Detectors, OpenEpisode
from beltline.pipeline.evidence import Evidence, EvidenceParams, PostureSeconds
from beltline.pipeline.gait import GAIT, GaitParams, Step, StepCandidates, StepTracker
from beltline.pipeline.output import Output
from beltline.pipeline.resample import Gap, Resampler
from beltline.pipeline.settings import Settings
from beltline.pipeline.signals import DT, RATE_HZ, History

log = logging.getLogger(__name__)

# per-sample channels kept for the stages that look back (steps, activity: they need ~40 s);
# a batch chunk is analysed in pieces of a quarter of it, so 240 s makes a chunk (PIECE) one
# piece: the per-piece work of the activity and evidence stages is paid once a minute, not
# 6 times (6 % of batch time; the same results; ~5 MB of buffers)
HISTORY_S = 240.0
WATCH_S = 120.0  # samples kept while watching for a better calibration (a walk and its standing)
PIECE = 6000  # grid samples per piece: bounded work per call, big files in one-minute pieces


@dataclass(frozen=True)
class StageParams:
    """The stages' parameters (each documented in its own module); the wearer's detector
    settings are ``Settings``."""

    attitude: AttitudeParams = field(default_factory=AttitudeParams)
    gait: GaitParams = GAIT
    calibration: CalibrationParams = field(default_factory=CalibrationParams)
    activity: ActivityParams = field(default_factory=ActivityParams)
    evidence: EvidenceParams = field(default_factory=EvidenceParams)


@dataclass(frozen=True)
class Diagnostics:
    """How the pipeline is doing, for the page, the log and the session record."""

    samples_in: int
    calibrated: bool
    calibration: CalibrationProgress
    references_set: bool
    walk_drop_deg: tuple[float, float] | None  # the wearer's reference per stance leg
    gaps: int
    bridged: tuple[int, float]  # short holes bridged: how many, seconds in all
    attitude_restarts: int
    active_episodes: list[tuple[str, str]]  # (kind, side) open now
    open_episodes: list[OpenEpisode]  # the same with their evidence times
    # the calibration as stored (Calibration.as_dict: axes and neutral confidence, where the
    # neutral came from), None while calibrating; how often better evidence improved it
    calibration_record: dict[str, object] | None = None
    calibration_updates: int = 0
    # the stance side: steps given a side and left unknown so far, and each side cue's learned
    # polarity (+1/-1, 0 = not yet; "lat" is the anchor)
    steps_sided: int = 0
    steps_unknown_side: int = 0
    side_cues: dict[str, float] = field(default_factory=dict)


class Pipeline:
    """One wearer's live or batch analysis. See the module docstring."""

    def __init__(self, settings: Settings | None = None, live: bool = False,
                 params: StageParams | None = None) -> None:
        """``live``: also give out each sample's angles as soon as they are computed
        (``Output.now``), for a display that cannot wait for the activity decision."""
        self.settings = settings or Settings()
        self.params = p = params or StageParams()
        self.live = live
        self.resampler = Resampler()
        self.attitude = Attitude(p.attitude)
        self.candidates = StepCandidates(p.gait)
        self.calibrator = Calibrator(p.calibration, p.gait)
        self.signals = PelvisSignals(p.gait)
        self.history = History(keep=int(HISTORY_S * RATE_HZ))
        self.tracker = StepTracker(self.history, p.gait)
        self.activity = ActivityClassifier(p.activity)
        self.detectors = Detectors(self.settings)
        self.evidence = Evidence(self.settings, self.detectors, p.evidence)
        self.seconds = PostureSeconds(round(1.0 / p.activity.block_s), p.evidence)
        self.calibration: Calibration | None = None
        # once calibrated, a second Calibrator watches for better evidence (quiet upright
        # standing next to a walk, a longer walk) and the calibration switches to it
        self.watch: Calibrator | None = None
        self._switch_at: tuple[int, Calibration] | None = None
        self.calibration_updates = 0
        self._sided = self._unknown = 0
        self.gaps: list[Gap] = []
        self.samples_in = 0

    # --- public ---------------------------------------------------------------------------
    def push(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> Output:
        """Feed samples (s, m/s², rad/s, sensor frame) in time order."""
        out = Output()
        self.samples_in += len(t)
        x = np.column_stack([acc, gyr]).astype(float, copy=False)
        for item in self.resampler.push(np.asarray(t, float), x):
            if isinstance(item, Gap):
                self._gap(item, out)
            else:
                k0, vals = item
                for s in range(0, len(vals), PIECE):
                    self._chunk(k0 + s, vals[s: s + PIECE], out)
        return out

    def finish(self) -> Output:
        """End of the recording: calibrate from what there is, flush every stage."""
        out = Output()
        if self.calibration is None:
            self._calibrated(self.calibrator.find(final=True), out)
        if self.calibration is not None:
            self._steps(self.tracker.close(), out, force=True)
        self._blocks(self.history.end, out, final=True)
        self._posture(self.seconds.flush(), out)
        if self.calibration is not None:
            self._evidence(out, force=True)
        out.episodes += self.detectors.finish()
        out.episodes.sort(key=lambda e: e.start_s)
        return out

    def recalibrate(self) -> None:
        """Forget the calibration: the next quiet standing plus walk set it again."""
        self.calibration = None
        self.watch = None
        self._switch_at = None
        self.evidence.reset()
        self.calibrator.reset()

    def diagnostics(self) -> Diagnostics:
        cal = self.calibration
        progress = self.calibrator.progress() if cal is None else CalibrationProgress(
            "done", neutral_confidence=cal.neutral_confidence,
            axes_confidence=cal.axes_confidence, neutral_source=cal.neutral_source,
            done_s=self._t(self.calibrator.walk_span[1]))
        return Diagnostics(
            self.samples_in, cal is not None, progress, self.evidence.refs_set,
            cal.walk_drop_deg if cal is not None and self.evidence.refs_set else None,
            len(self.gaps), self.bridged, self.attitude.restarts, self.detectors.active(),
            self.detectors.open_episodes(),
            cal.as_dict() if cal is not None else None, self.calibration_updates,
            self._sided, self._unknown, self.tracker.vote.learned())

    @property
    def bridged(self) -> tuple[int, float]:
        """Short holes bridged by interpolation: how many, and how much time they missed."""
        return self.resampler.bridged, self.resampler.bridged_s

    def t_of(self, k: np.ndarray) -> np.ndarray:
        """Grid indices to times in the input's clock (s)."""
        assert self.resampler.t0 is not None
        return self.resampler.t0 + np.asarray(k) * DT

    def _t(self, k: int) -> float:
        assert self.resampler.t0 is not None
        return float(self.resampler.t0 + k * DT)

    # --- wiring ---------------------------------------------------------------------------
    def _gap(self, gap: Gap, out: Output) -> None:
        self.gaps.append(gap)
        out.gaps.append(gap)
        log.debug("gap of %.2f s at t=%.2f s", gap.seconds, gap.start_s)
        self.attitude.gap(gap.seconds)
        self.candidates.reset()
        self.signals.reset()
        if self.calibration is not None:
            self._steps(self.tracker.reset(), out)

    def _chunk(self, k0: int, vals: np.ndarray, out: Output) -> None:
        acc = np.ascontiguousarray(vals[:, :3])
        gyr = np.ascontiguousarray(vals[:, 3:])
        up = self.attitude.update(acc, gyr)
        cands, weak = self.candidates.update((acc * up).sum(axis=1) - GRAVITY_MS2, k0)
        if self.calibration is None:
            self.calibrator.collect(k0, up, acc, gyr, cands, weak)
            self._calibrated(self.calibrator.find(final=False), out)
            return
        if self.watch is not None:
            self.watch.collect(k0, up, acc, gyr, cands, weak)
            found = self.watch.better(self.calibration)
            if found is not None:
                self._switch_at = found
            self.watch.prune(k0 + len(up) - int(WATCH_S * RATE_HZ))
        self._post_switching(k0, up, acc, gyr, cands, weak, out)

    def _post_switching(self, k0: int, up: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                        cands: list[int], weak: list[int], out: Output) -> None:
        """Analyse a chunk, switching to a better calibration at its grid index if one is due
        in the chunk."""
        due = self._switch_at
        if due is None or due[0] >= k0 + len(up):
            self._post(k0, up, acc, gyr, cands, weak, out)
            return
        j = max(0, due[0] - k0)
        if j:
            self._post(k0, up[:j], acc[:j], gyr[:j], [c for c in cands if c < k0 + j],
                       [c for c in weak if c < k0 + j], out)
        self._switch_at = None
        self._switch(due[1])
        self._post_switching(k0 + j, up[j:], acc[j:], gyr[j:],
                             [c for c in cands if c >= k0 + j],
                             [c for c in weak if c >= k0 + j], out)

    def _switch(self, cal: Calibration) -> None:
        """Better evidence: analyse on with ``cal``, the walking tilt reference carried over to
        the new neutral."""
        old = self.calibration
        assert old is not None
        _, pitch = angles_deg(cal.R, old.R[2][None, :])
        self.calibration = replace(cal, walk_tilt_deg=old.walk_tilt_deg + float(pitch[0]),
                                   walk_drop_deg=old.walk_drop_deg)
        self.calibration_updates += 1
        log.info("calibration improved: neutral from %s (confidence %.1f -> %.1f), axes %.1f",
                 cal.neutral_source, old.neutral_confidence, cal.neutral_confidence,
                 cal.axes_confidence)
        if cal.neutral_confidence >= 1.0 and cal.axes_confidence >= 0.9:
            self.watch = None
        elif self.watch is not None:  # evidence already in the watch may be better still
            self._switch_at = self.watch.better(self.calibration)

    def _calibrated(self, cal: Calibration | None, out: Output) -> None:
        """A calibration was found: analyse the buffered samples with it."""
        if cal is None:
            return
        self.calibration = cal
        start = -(-self.calibrator.decided_at // SEC) * SEC
        watch = cal.neutral_confidence < 1.0 or cal.axes_confidence < 0.9
        self.watch = Calibrator(self.params.calibration, self.params.gait) if watch else None
        chunks = self.calibrator.drain()
        if self.watch is not None:
            for k0, arr, weak, cands in chunks:
                if k0 + len(arr) > start:
                    # the watch starts where this calibration could first be decided
                    j = max(0, start - k0)
                    self.watch.collect(k0 + j, arr[j:, 0:3], arr[j:, 3:6], arr[j:, 6:9],
                                       [c for c in cands if c >= k0 + j],
                                       [c for c in weak if c >= k0 + j])
            self._switch_at = self.watch.better(cal)
        for k0, arr, weak, cands in chunks:
            self._post_switching(k0, arr[:, 0:3], arr[:, 3:6], arr[:, 6:9], cands, weak, out)

    def _post(self, k0: int, up: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
              cands: list[int], weak: list[int], out: Output) -> None:
        # pieces short against the history's span, so every step still finds its samples
        # (a candidate is confirmed a little after its peak, so it may lie before this chunk)
        assert self.calibration is not None
        piece = self.history.keep // 4
        # the per-sample channels of the whole chunk at once (the filters carry their state,
        # so this is what the pieces would give one by one, at a fraction of the calls)
        ch = self.signals(self.calibration.R, up, acc, gyr)
        for s in range(0, len(up), piece):
            k = k0 + s
            mine = [c for c in cands if c < k + piece and (s == 0 or c >= k)]
            weak_mine = [c for c in weak if c < k + piece and (s == 0 or c >= k)]
            self._post_piece(k, {name: v[s: s + piece] for name, v in ch.items()}, mine,
                             weak_mine, out)

    def _post_piece(self, k0: int, ch: dict[str, np.ndarray], cands: list[int],
                    weak: list[int], out: Output) -> None:
        h = self.history
        n = len(ch["roll"])
        if h.end and k0 > h.end:
            # a gap: nothing after it changes what came before, so the steps and the pending
            # activity blocks before it are decided now (not lost), and the blocks start again
            # after it (no arrays across the gap, however long)
            self._steps(self.tracker.reset(), out)
            self._blocks(h.end, out, final=True)
            self.activity.gap()
            hole = k0 - h.end
            if hole <= h.keep:
                nan = np.full(hole, np.nan)
                h.append(h.end, **{k: nan for k in h.data})
            else:
                h.clear()
        self.activity.start(k0)
        if self.live:
            out.now.append((self.t_of(np.arange(k0, k0 + n)), ch["roll"], ch["pitch"]))
        h.append(k0, **ch)
        self._steps(self.tracker.feed(cands, weak), out)
        self._blocks(h.end - int(self.params.activity.delay_s * RATE_HZ), out, final=False)

    def _steps(self, steps: list[Step], out: Output, force: bool = False) -> None:
        # the activity learns of walking as soon as the strikes are known; the steps (with
        # their side) come a few strikes later
        for strike, end in self.tracker.take_spans():
            self.activity.walking(strike, end)
        for s in steps:
            out.steps.append((self._t(s.i), s.side, s))
            if s.confident:
                self._sided += 1
            else:
                self._unknown += 1
        self.evidence.hold_steps(steps)
        self._evidence(out, force)

    def _evidence(self, out: Output, force: bool) -> None:
        """Steps become hip-drop evidence once the calibration walk's own steps have set the
        wearer's references (they are held until then)."""
        cal = self.calibration
        assert cal is not None
        if not self.evidence.refs_set:
            walk = self.calibrator.walk_span
            delay = int(self.params.activity.delay_s * RATE_HZ)
            if self.history.end <= walk[1] + delay and not force:
                return
            self.calibration = cal = self.evidence.references(cal, walk)
            out.episodes += self.evidence.held_seconds(cal)
        out.episodes += self.evidence.stances(cal, self._t)

    def _blocks(self, upto: int, out: Output, final: bool) -> None:
        b = self.activity.blocks(self.history, upto, final)
        if b is None:
            return
        out.add_samples(self.t_of(b.idx), b.sample_roll, b.sample_pitch, b.sample_code)
        self._posture(self.seconds.add(b.b0, b.act, b.pitch, b.roll, b.valid), out)

    def _posture(self, seconds: list[tuple[int, str, float, float]], out: Output) -> None:
        for k, act, tilt, obliquity in seconds:
            out.episodes += self.evidence.second(self.calibration, self._t(k), act, tilt,
                                                 obliquity)
