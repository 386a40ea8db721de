"""The host pipeline: raw samples in, angles, activity, steps and episodes out.

    samples (any rate 50-200 Hz, irregular) -> Resampler (100 Hz grid; gaps found, counted)
    -> attitude (VQF 6-D, Laidig & Seel 2023, PyPI ``vqf``) -> step candidates (axis-free)
    -> calibration (neutral + pelvis axes; until then the samples wait in a buffer)
    -> pelvis angles -> steps and stance side (``gait``) -> activity per 0.1 s
    -> episode detectors (``episodes``)

``Pipeline.push`` takes any chunk (a BLE packet's few samples or a whole file) and returns what
became final; ``finish`` flushes the end. Every stage carries its state between chunks, so a
recording gives the same result however it is chunked: live equals batch (tested).
Results lag the input by about ``DELAY_S`` (activity needs to know whether steps follow).
"""

from __future__ import annotations

import logging
from collections import deque

import numpy as np

from beltline.pipeline.calibration import (
    Calibration,
    CalibrationError,
    angles_deg,
    forward_axis,
    frame,
)
from beltline.pipeline.episodes import Detectors
from beltline.pipeline.gait import MAX_STEP_S, MIN_STEP_S, Step, StepTracker
from beltline.pipeline.output import Output
from beltline.pipeline.resample import Gap, Resampler
from beltline.pipeline.settings import Settings
from beltline.pipeline.signals import DT, IIR, RATE_HZ, History, PeakFinder, butter2

log = logging.getLogger(__name__)

G = 9.81
RESET_GAP_S = 2.0  # after a gap this long the attitude starts afresh
DELAY_S = 4.0
BLOCK = 10  # samples per activity block (0.1 s)
ACTIVITIES = ("standing", "walking", "sitting", "other")
# calibration
QUIET_GYRO_RADS = 0.15
QUIET_ACC_STD = 0.3
STAND_MIN_S = 2
WALK_MIN_STEPS = 10
WALK_MAX_STEPS = 40
BUFFER_MAX_S = 1800.0  # how long a live session waits for its calibration before giving up
TRANSITION_MAX_S = 6.0
STILL_GYRO_RADS = 0.06  # stiller than the calibration's quiet: anchors must not be moving
STILL_ACC_STD = 0.1
QUIET_BLOCKS = 10  # 1 s of stillness anchors the vertical integration (not a pause mid-move)
SEAT_DROP_M = 0.15  # a chair seat is ~0.45 m below the standing pelvis; bending moves less


class Pipeline:
    """One wearer's live or batch analysis. See the module docstring."""

    def __init__(self, settings: Settings | None = None, live: bool = False) -> None:
        """``live``: also give out each sample's angles as soon as they are computed
        (``Output.now``), for a display that cannot wait for the activity decision."""
        from vqf import VQF  # the reference C++ implementation; identical live and in batch

        self.settings = settings or Settings()
        self.live = live
        self._vqf_cls = VQF
        self.resampler = Resampler()
        self.calibration: Calibration | None = None
        self.gaps: list[Gap] = []
        self._new_attitude()
        self._band = IIR(butter2("bandpass", (0.5, 3.0)))
        self._peaks = PeakFinder(drop=1.0, min_gap=int(MIN_STEP_S * RATE_HZ))
        # the closing step of a walk (feet coming together) is a small one: weaker peaks are
        # kept to look for it when a run of steps ends
        self._weak_peaks = PeakFinder(drop=0.3, min_gap=int(MIN_STEP_S * RATE_HZ))
        self._aap_lp = IIR(butter2("lowpass", 15.0))
        self._reset_calibration_state()
        self.history = History(keep=int(40 * RATE_HZ))
        self.tracker = StepTracker(self.history)
        self.detectors = Detectors(self.settings)
        self._block_next: int | None = None  # first block not yet given out
        self._walk: list[tuple[int, int]] = []  # walking spans (grid index) from steps
        self._second_acts: list[str] = []
        self._second_p: list[float] = []
        self._second_r: list[float] = []
        self._second_idx: int | None = None
        self._held_steps: list[Step] = []
        self._seated = False
        self._in_quiet = False
        self._qrun = 0
        self._quiet_end: int | None = None
        self._strikes: deque[int] = deque(maxlen=4)  # the walk's last strikes
        self._stride_end: int | None = None
        self._refs_set = False
        self._held_seconds: list[tuple[float, str, float, float]] = []
        self._calib_walk = (0, 0)
        self.samples_in = 0

    # --- public ---------------------------------------------------------------------------
    def push(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> Output:
        """Feed samples (s, m/s², rad/s, sensor frame) in time order."""
        out = Output()
        self.samples_in += len(t)
        x = np.column_stack([acc, gyr]).astype(float)
        for item in self.resampler.push(np.asarray(t, float), x):
            if isinstance(item, Gap):
                self._gap(item, out)
            else:
                k0, vals = item
                # bounded work per call: big files go through in one-minute pieces
                for s in range(0, len(vals), 6000):
                    self._chunk(k0 + s, vals[s: s + 6000], out)
        return out

    def finish(self) -> Output:
        """End of the recording: calibrate from what there is, flush every stage."""
        out = Output()
        if self.calibration is None:
            self._calibrate(final=True)
            self._replay(out)
        if self.calibration is not None:
            self._steps(self.tracker.reset(), out, force=True)
        self._blocks(self.history.end, out, final=True)
        self._flush_second(out, final=True)
        if self.calibration is not None:
            self._stance_evidence(out, force=True)
        out.episodes += self.detectors.finish()
        out.episodes.sort(key=lambda e: e.start_s)
        return out

    def recalibrate(self) -> None:
        """Forget the calibration: the next quiet standing plus walk set it again."""
        self.calibration = None
        self._refs_set = False
        self._reset_calibration_state()

    @property
    def bridged(self) -> tuple[int, float]:
        """Short holes bridged by interpolation: how many, and how much time they missed."""
        return self.resampler.bridged, self.resampler.bridged_s

    def t_of(self, k: int | np.ndarray) -> np.ndarray | float:
        assert self.resampler.t0 is not None
        return self.resampler.t0 + np.asarray(k) * DT

    # --- stages ---------------------------------------------------------------------------
    def _new_attitude(self) -> None:
        self.vqf = self._vqf_cls(DT)

    def _reset_calibration_state(self) -> None:
        self._buf: list[tuple[int, np.ndarray, list[int], list[int]]] = []
        self._buf_n = 0
        self._quiet: dict[int, np.ndarray] = {}  # second index -> mean up
        self._qacc: dict[int, list[np.ndarray]] = {}
        self._cands: list[int] = []

    def _gap(self, gap: Gap, out: Output) -> None:
        self.gaps.append(gap)
        out.gaps.append(gap)
        log.debug("gap of %.2f s at t=%.2f s", gap.seconds, gap.start_s)
        if gap.seconds > RESET_GAP_S:
            self._new_attitude()
        self._band.reset()
        self._aap_lp.reset()
        self._peaks.reset()
        self._weak_peaks.reset()
        if self.calibration is not None:
            self._steps(self.tracker.reset(), out)

    def _chunk(self, k0: int, vals: np.ndarray, out: Output) -> None:
        acc = np.ascontiguousarray(vals[:, :3])
        gyr = np.ascontiguousarray(vals[:, 3:])
        q = self.vqf.updateBatch(gyr, acc)["quat6D"]
        w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
        up = np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1)
        a_v = (acc * up).sum(axis=1) - G
        band = self._band(a_v)
        cands = self._peaks(band, k0)
        weak = self._weak_peaks(band, k0)
        if self.calibration is None:
            self._collect(k0, up, acc, gyr, cands, weak)
            self._calibrate(final=False)
            if self.calibration is not None:
                self._replay(out)
            elif self._buf_n > BUFFER_MAX_S * RATE_HZ:
                raise CalibrationError(
                    f"no calibration after {BUFFER_MAX_S / 60:.0f} min: stand still for 10 s, "
                    "then walk normally for 30 s")
            return
        self._post(k0, up, acc, gyr, cands, weak, out)

    # --- calibration ----------------------------------------------------------------------
    def _collect(self, k0: int, up: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                 cands: list[int], weak: list[int]) -> None:
        self._buf.append((k0, np.column_stack([up, acc, gyr]), weak, cands))
        self._buf_n += len(up)
        self._cands += cands
        # quiet seconds: little rotation and a steady accelerometer
        sec = (k0 + np.arange(len(up))) // int(RATE_HZ)
        for s in np.unique(sec):
            m = sec == s
            self._qacc.setdefault(int(s), []).append(
                np.column_stack([up[m], np.linalg.norm(acc[m], axis=1),
                                 np.linalg.norm(gyr[m], axis=1)]))

    def _quiet_seconds(self) -> dict[int, np.ndarray]:
        out = {}
        for s, parts in self._qacc.items():
            a = np.vstack(parts)
            if len(a) < 0.9 * RATE_HZ:
                continue
            if a[:, 4].mean() < QUIET_GYRO_RADS and a[:, 3].std() < QUIET_ACC_STD:
                out[s] = a[:, :3].mean(axis=0)
        return out

    def _calibrate(self, final: bool) -> None:
        runs = _runs(self._cands)
        walk = next((r for r in runs if len(r) >= WALK_MIN_STEPS
                     and (len(r) >= WALK_MAX_STEPS or r[-1] < self._last_k()
                          - MAX_STEP_S * RATE_HZ or final)), None)
        if walk is None:
            if final:
                if not self._buf_n:
                    raise CalibrationError("no data to calibrate from")
                raise CalibrationError(
                    "cannot calibrate: no walking found (at least 10 steps in a row are needed "
                    "to find forward and left); the protocol is 10 s of quiet standing, then "
                    "30 s of normal walking")
            return
        walk = walk[:WALK_MAX_STEPS]
        data = self._buffer_array()
        k_first = self._buf[0][0]
        quiet = self._quiet_seconds()
        first_walk_s = walk[0] // int(RATE_HZ)
        stand = [s for s in sorted(quiet) if s < first_walk_s - 1]
        # the last run of consecutive quiet seconds before the walk
        run: list[int] = []
        for s in reversed(stand):
            if run and s != run[-1] - 1:
                break
            run.append(s)
        i0, i1 = walk[0] - k_first, walk[-1] - k_first
        up_w, acc_w = data[i0:i1, 0:3], data[i0:i1, 3:6]
        note = ""
        if len(run) >= STAND_MIN_S:
            up0 = np.mean([quiet[s] for s in run], axis=0)
            stand_span = (float(min(run)), float(max(run) + 1))
        else:
            up0 = up_w.mean(axis=0)
            stand_span = None
            note = ("no quiet standing before the first walk: the neutral is the mean posture "
                    "while walking")
            log.warning("calibration: %s", note)
        up0 = up0 / np.linalg.norm(up0)
        fwd = forward_axis(up0, up_w, acc_w)
        R = frame(up0, fwd)
        self.calibration = Calibration(R, stand_span,
                                       (float(walk[0] * DT), float(walk[-1] * DT)), note=note)
        self._calib_walk = (walk[0], walk[-1])
        log.info("calibrated: up %s, forward %s (sensor frame)", np.round(R[2], 3),
                 np.round(R[0], 3))

    def _last_k(self) -> int:
        k0, arr, _, _ = self._buf[-1]
        return k0 + len(arr)

    def _buffer_array(self) -> np.ndarray:
        # contiguous view of the buffered samples; gaps are filled with NaN rows
        k_first = self._buf[0][0]
        n = self._last_k() - k_first
        out = np.full((n, 9), np.nan)
        for k0, arr, _, _ in self._buf:
            out[k0 - k_first: k0 - k_first + len(arr)] = arr
        return out

    def _replay(self, out: Output) -> None:
        buf, self._buf = self._buf, []
        self._buf_n = 0
        self._qacc.clear()
        self._cands = []
        for k0, arr, weak, cands in buf:
            self._post(k0, arr[:, 0:3], arr[:, 3:6], arr[:, 6:9], cands, weak, out)

    # --- after calibration ----------------------------------------------------------------
    def _post(self, k0: int, up: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
              cands: list[int], weak: list[int], out: Output) -> None:
        # pieces short against the history's span, so every step still finds its samples
        # (a candidate is confirmed a little after its peak, so it may lie before this chunk)
        piece = self.history.keep // 4
        for s in range(0, len(up), piece):
            k = k0 + s
            mine = [c for c in cands if c < k + piece and (s == 0 or c >= k)]
            weak_mine = [c for c in weak if c < k + piece and (s == 0 or c >= k)]
            self._post_piece(k, up[s: s + piece], acc[s: s + piece], gyr[s: s + piece], mine,
                             weak_mine, out)

    def _post_piece(self, k0: int, up: np.ndarray, acc: np.ndarray, gyr: np.ndarray,
                    cands: list[int], weak: list[int], out: Output) -> None:
        assert self.calibration is not None
        R = self.calibration.R
        if self.history.end and k0 > self.history.end:
            hole = k0 - self.history.end
            if hole <= self.history.keep:
                nan = np.full(hole, np.nan)
                self.history.append(self.history.end, **{k: nan for k in self.history.data})
            else:
                self.history.clear()
        if self._block_next is None:
            self._block_next = k0 // BLOCK
        roll, pitch = angles_deg(R, up)
        if self.live:
            out.now.append((self.t_of(np.arange(k0, k0 + len(up))), roll, pitch))
        lin = acc - G * up
        aap = self._aap_lp(lin @ R[0])
        self.history.append(k0, roll=roll, pitch=pitch, aap=aap, wx=gyr @ R[0],
                            wz=(gyr * up).sum(axis=1), gn=np.linalg.norm(gyr, axis=1),
                            av=(lin * up).sum(axis=1))
        self._steps(self.tracker.feed(cands, weak), out)
        self._blocks(self.history.end - int(DELAY_S * RATE_HZ), out, final=False)

    def _steps(self, steps: list[Step], out: Output, force: bool = False) -> None:
        for s in steps:
            out.steps.append((float(self.t_of(s.i)), s.side, s))
            self._strikes.append(s.i)
            self._walk.append((s.i - int(0.3 * RATE_HZ), s.end_i))
            self._held_steps.append(s)
        self._stance_evidence(out, force)

    def _stance_evidence(self, out: Output, force: bool) -> None:
        """Steps become hip-drop evidence once the calibration walk's own steps have set the
        wearer's reference drop per side (they are held until then)."""
        cal = self.calibration
        assert cal is not None
        if not self._refs_set:
            cw = self._calib_walk
            if self.history.end <= cw[1] + int(DELAY_S * RATE_HZ) and not force:
                return
            turn = self.settings.turn_rate_dps
            in_walk = [s for s in self._held_steps if cw[0] <= s.i <= cw[1]
                       and s.turn_dps < turn and np.isfinite(s.drop_deg)]
            drops = []
            for side in ("left", "right"):
                d = [s.drop_deg for s in in_walk if s.side == side]
                drops.append(float(np.median(d)) if len(d) >= 3 else 4.0)
            lo, hi = (self.settings.hip_drop_reference_min_deg,
                      self.settings.hip_drop_reference_max_deg)
            tilts = [s.tilt_deg for s in in_walk if np.isfinite(s.tilt_deg)]
            self.calibration = cal = Calibration(
                cal.R, cal.stand, cal.walk,
                (float(np.clip(drops[0], lo, hi)), float(np.clip(drops[1], lo, hi))),
                float(np.clip(np.median(tilts), -10.0, 10.0)) if tilts else 0.0, cal.note)
            self._refs_set = True
            held, self._held_seconds = self._held_seconds, []
            for args in held:
                self._posture(out, *args)
        ref = cal.walk_drop_deg
        for s in self._held_steps:
            if not np.isfinite(s.drop_deg) or s.turn_dps >= self.settings.turn_rate_dps:
                continue
            r = ref[0] if s.side == "left" else ref[1]
            out.episodes += self.detectors.stance(
                s.side, float(self.t_of(s.i)), float(self.t_of(s.end_i)), s.drop_deg - r,
                s.drop_deg)
        self._held_steps = []

    def _blocks(self, upto: int, out: Output, final: bool) -> None:
        """Give out activity blocks whose samples are all before grid index ``upto``."""
        if self._block_next is None:
            return
        b0 = self._block_next
        b1 = upto // BLOCK if not final else -(-self.history.end // BLOCK)
        if b1 <= b0:
            return
        i0, i1 = b0 * BLOCK, b1 * BLOCK
        roll = _pad(self.history.get("roll", i0, i1), self.history, i0, i1)
        pitch = _pad(self.history.get("pitch", i0, i1), self.history, i0, i1)
        gn = _pad(self.history.get("gn", i0, i1), self.history, i0, i1)
        nb = b1 - b0
        r = roll.reshape(nb, BLOCK)
        p = pitch.reshape(nb, BLOCK)
        g = gn.reshape(nb, BLOCK)
        fin = np.isfinite(r)
        count = fin.sum(axis=1)
        valid = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):  # empty blocks stay NaN
            pm, rm, gm = (np.where(fin, x, 0.0).sum(axis=1) / count for x in (p, r, g))
        centre = (np.arange(b0, b1) * BLOCK + BLOCK // 2)
        walking = np.zeros(nb, dtype=bool)
        self._walk = [w for w in self._walk if w[1] >= i0]
        for a, b in self._walk:
            walking |= (centre >= a) & (centre < b)
        av = _pad(self.history.get("av", i0, i1), self.history, i0, i1).reshape(nb, BLOCK)
        # blocks with missing samples (a gap's edge) are never still: std is NaN there
        quiet = (gm < STILL_GYRO_RADS) & (av.std(axis=1) < STILL_ACC_STD)
        seated = self._transitions(b0, quiet, walking, valid)
        act = np.where(walking, "walking", np.where(
            (np.abs(pm) > 35.0) | (np.abs(rm) > 30.0) | (gm > 0.6), "other",
            np.where((pm < -8.0) | seated, "sitting", "standing")))
        act = np.where(valid, act, "")
        self._block_next = b1
        keep = fin.reshape(-1)
        idx = np.arange(i0, i1)[keep]
        out.add_samples(self.t_of(idx), roll[keep], pitch[keep], np.repeat(act, BLOCK)[keep])
        self._seconds(b0, act, pm, rm, valid, out)

    def _transitions(self, b0: int, quiet: np.ndarray, walking: np.ndarray,
                     valid: np.ndarray) -> np.ndarray:
        """Sitting down and standing up, from how far the pelvis moves vertically between two
        quiet spells at most ``TRANSITION_MAX_S`` apart: the vertical acceleration integrated
        twice, the velocity taken as zero in both quiet spells (Najafi et al. 2002 find
        postural transitions from a trunk sensor's vertical acceleration the same way). Down
        by more than ``SEAT_DROP_M`` is sitting down; up by as much, standing up. Returns the
        seated state per block."""
        out = np.zeros(len(quiet), dtype=bool)
        # one step per run of equal blocks (not per block): invalid, walking, still, moving
        code = np.where(~valid, 0, np.where(walking, 1, np.where(quiet, 2, 3)))
        edges = np.flatnonzero(np.diff(code)) + 1
        starts = [0, *edges.tolist()]
        ends = [*edges.tolist(), len(code)]
        for r0, r1 in zip(starts, ends, strict=True):
            c = int(code[r0])
            before = self._seated
            flip = r0
            if c == 0:
                self._quiet_end, self._in_quiet, self._qrun = None, False, 0
            elif c == 1:
                # at a heel strike the pelvis is at its lowest, so its vertical speed is about
                # zero: a strike of the walk anchors the integration like a still spell. The
                # earliest of the last four: the last ones may be part of sitting down already.
                self._seated, self._in_quiet, self._qrun = False, False, 0
                before = False
                end = (b0 + r1) * BLOCK
                anchors = [k for k in self._strikes if k <= end]
                self._quiet_end = anchors[0] if anchors else end
                # the pelvis is as high at the end of a stride as at its start: the stride
                # after the anchor fixes its starting speed (strike timing is only ~+-30 ms)
                self._stride_end = anchors[2] if len(anchors) >= 3 else None
            elif c == 2:
                q = self._qrun
                self._qrun = q + (r1 - r0)
                if q < QUIET_BLOCKS <= self._qrun:  # a still spell, not a pause inside a move
                    j = r0 + QUIET_BLOCKS - q - 1
                    q0 = (b0 + j - QUIET_BLOCKS + 1) * BLOCK
                    if self._quiet_end is not None and \
                            0 < q0 - self._quiet_end <= (TRANSITION_MAX_S + 3.0) * RATE_HZ:
                        self._vertical_move(self._quiet_end, q0, self._stride_end)
                    self._in_quiet = True
                    flip = j
            else:
                if self._in_quiet:
                    self._quiet_end = (b0 + r0) * BLOCK
                    self._stride_end = None
                self._in_quiet, self._qrun = False, 0
            out[r0:flip] = before
            out[flip:r1] = self._seated
        return out

    def _vertical_move(self, i0: int, i1: int, stride_end: int | None = None) -> None:
        a = self.history.get("av", i0, i1)
        if len(a) != i1 - i0 or not np.isfinite(a).all():
            return
        v = np.cumsum(a) * DT
        if stride_end is not None and i0 < stride_end < i1:
            v -= v[: stride_end - i0].mean()  # no net rise over the walk's stride
            v -= np.linspace(0.0, v[-1], len(v))  # and still at the end
        else:
            v -= np.linspace(0.0, v[-1], len(v))  # zero velocity at both ends
        rise = float(v.sum() * DT)
        log.debug("pelvis moved %+.2f m vertically from %.1f s to %.1f s", rise,
                  float(self.t_of(i0)), float(self.t_of(i1)))
        if rise < -SEAT_DROP_M:
            self._seated = True
        elif rise > SEAT_DROP_M:
            self._seated = False

    def _seconds(self, b0: int, act: np.ndarray, pm: np.ndarray, rm: np.ndarray,
                 valid: np.ndarray, out: Output) -> None:
        """Gather the blocks into whole seconds of posture evidence."""
        per = int(RATE_HZ) // BLOCK
        acts, ps, rs, oks = act.tolist(), pm.tolist(), rm.tolist(), valid.tolist()
        for j in range(len(acts)):
            sec = (b0 + j) // per
            if sec != self._second_idx:
                if self._second_idx is not None:
                    self._flush_second(out, final=False)
                self._second_idx = sec
            if oks[j]:
                self._second_acts.append(acts[j])
                self._second_p.append(ps[j])
                self._second_r.append(rs[j])

    def _flush_second(self, out: Output, final: bool) -> None:
        sec, acts = self._second_idx, self._second_acts
        p_list, r_list = self._second_p, self._second_r
        self._second_acts, self._second_p, self._second_r = [], [], []
        if sec is None or len(acts) < BLOCK // 2:
            return  # less than half a second of data: no evidence either way
        act = max(set(acts), key=acts.count)
        if acts.count(act) < 0.7 * len(acts):
            act = "other"  # a transition inside this second
        args = (float(self.t_of(sec * int(RATE_HZ))), act, sum(p_list) / len(p_list),
                sum(r_list) / len(r_list))
        if self._refs_set:
            self._posture(out, *args)
        else:  # the walking tilt reference comes from the calibration walk's steps
            self._held_seconds.append(args)

    def _posture(self, out: Output, t: float, act: str, p: float, r: float) -> None:
        assert self.calibration is not None
        ref = self.calibration.walk_tilt_deg if act == "walking" else 0.0
        out.episodes += self.detectors.second(t, act, p - ref, p, r)


def _pad(x: np.ndarray, h: History, i0: int, i1: int) -> np.ndarray:
    """``x`` as got from history for [i0, i1), with NaN where the history holds nothing."""
    if len(x) == i1 - i0:
        return x
    out = np.full(i1 - i0, np.nan)
    a = max(i0, h.start)
    out[a - i0: a - i0 + len(x)] = x
    return out


def _runs(cands: list[int]) -> list[list[int]]:
    """Candidates grouped into runs of plausible steps (0.3-1.3 s apart)."""
    runs: list[list[int]] = []
    for c in cands:
        if runs and MIN_STEP_S * RATE_HZ <= c - runs[-1][-1] <= MAX_STEP_S * RATE_HZ:
            runs[-1].append(c)
        elif runs and c - runs[-1][-1] < MIN_STEP_S * RATE_HZ:
            continue
        else:
            runs.append([c])
    return runs
