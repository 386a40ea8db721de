"""Activity per 0.1-s block: walking inside runs of steps; otherwise from posture and motion
(sitting = posterior tilt beyond ``sitting_tilt_deg`` or a sit-down found from the pelvis's
vertical travel, other = bending, a side lean or moving without stepping; else standing).
Decided ``delay_s`` late, so it can see whether steps follow."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

import numpy as np

from beltline.pipeline.gait import Step
from beltline.pipeline.signals import DT, RATE_HZ, History

log = logging.getLogger(__name__)

ACTIVITIES = ("standing", "walking", "sitting", "other")
# per-sample activity as a small integer: its index here ("" where a sample has no block, as
# at a gap's edge); the store's codes are the same (sessions.codec.ACTIVITY_CODES)
ACTIVITY_NAMES = ("", *ACTIVITIES)
_CODE = {a: np.int8(i) for i, a in enumerate(ACTIVITY_NAMES)}
_STANDING, _WALKING, _SITTING, _OTHER = (_CODE[a] for a in ACTIVITIES)


@dataclass(frozen=True)
class ActivityParams:
    """- ``block_s`` (0.1): the unit of the activity decision.
    - ``delay_s`` (4.0): how late a block is decided (whether steps follow).
    - ``walk_lead_s`` (0.3): a step's walking span starts this long before its heel strike.
    - ``still_gyro_rads`` (0.06) / ``still_acc_std_ms2`` (0.1): a block is still (stiller than
      the calibration's quiet: anchors of the vertical integration must not move).
    - ``still_spell_s`` (1.0): stillness this long anchors the vertical integration (not a pause
      inside a move).
    - ``transition_max_s`` (6.0): a sit-down or stand-up takes at most this long.
    - ``seat_drop_m`` (0.15): a chair seat is ~0.45 m below the standing pelvis; bending moves
      the pelvis less (Najafi et al. 2002 find postural transitions this way).
    - ``sitting_tilt_deg`` (-8), ``bending_tilt_deg`` (35), ``side_lean_deg`` (30),
      ``moving_gyro_rads`` (0.6): posture and motion limits of standing.
    """

    block_s: float = 0.1
    delay_s: float = 4.0
    walk_lead_s: float = 0.3
    still_gyro_rads: float = 0.06
    still_acc_std_ms2: float = 0.1
    still_spell_s: float = 1.0
    transition_max_s: float = 6.0
    transition_slack_s: float = 3.0
    seat_drop_m: float = 0.15
    sitting_tilt_deg: float = -8.0
    bending_tilt_deg: float = 35.0
    side_lean_deg: float = 30.0
    moving_gyro_rads: float = 0.6

    @property
    def block(self) -> int:
        return round(self.block_s * RATE_HZ)


@dataclass
class Blocks:
    """Decided blocks ``b0 .. b0+len(act)``: activity (int8 codes into ``ACTIVITY_NAMES``,
    0 where the block holds no data) and mean tilt/obliquity per block (``valid`` where the
    block holds data), and the samples with data (grid index, angles, activity code)."""

    b0: int
    act: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    valid: np.ndarray
    idx: np.ndarray
    sample_roll: np.ndarray
    sample_pitch: np.ndarray
    sample_code: np.ndarray  # int8 index into ACTIVITY_NAMES


class ActivityClassifier:
    def __init__(self, params: ActivityParams | None = None) -> None:
        self.params = params or ActivityParams()
        self._block_next: int | None = None  # first block not yet given out
        self._block_floor = 0  # blocks before this were given out (before a gap)
        self._walk: list[tuple[int, int]] = []  # walking spans (grid index) from steps
        self._seated = False
        self._in_quiet = False
        self._qrun = 0
        self._quiet_end: int | None = None
        self._strikes: deque[int] = deque(maxlen=4)  # the walk's last strikes
        self._stride_end: int | None = None

    def start(self, k0: int) -> None:
        """The first analysed grid index (blocks are counted from here, and again after a
        gap)."""
        if self._block_next is None:
            self._block_next = max(k0 // self.params.block, self._block_floor)

    def gap(self) -> None:
        """A gap in the data, after ``blocks(final=True)`` decided everything before it: the
        next block is the first after the gap (none is made for the gap itself), and what
        needs continuous data (walking spans, quiet spells, the vertical anchors) starts
        again. The seated state carries over."""
        if self._block_next is not None:
            self._block_floor = self._block_next
        self._block_next = None
        self._walk = []
        self._in_quiet, self._qrun = False, 0
        self._quiet_end = self._stride_end = None
        self._strikes.clear()

    def step(self, s: Step) -> None:
        self.walking(s.i, s.end_i)

    def walking(self, strike: int, end: int) -> None:
        """A heel strike at grid index ``strike`` and the step up to ``end``: walking."""
        self._strikes.append(strike)
        self._walk.append((strike - int(self.params.walk_lead_s * RATE_HZ), end))

    def blocks(self, h: History, upto: int, final: bool) -> Blocks | None:
        """Decide the blocks whose samples are all before grid index ``upto`` (``final``: all)."""
        if self._block_next is None:
            return None
        p = self.params
        B = p.block
        b0 = self._block_next
        b1 = upto // B if not final else -(-h.end // B)
        if b1 <= b0:
            return None
        i0, i1 = b0 * B, b1 * B
        roll = _pad(h.get("roll", i0, i1), h, i0, i1)
        pitch = _pad(h.get("pitch", i0, i1), h, i0, i1)
        gn = _pad(h.get("gn", i0, i1), h, i0, i1)
        nb = b1 - b0
        r = roll.reshape(nb, B)
        pt = pitch.reshape(nb, B)
        g = gn.reshape(nb, B)
        fin = np.isfinite(r)
        every = bool(fin.all())  # the usual case: no sample missing, nothing to mask
        count = np.full(nb, B) if every else fin.sum(axis=1)
        valid = count > 0
        with np.errstate(invalid="ignore", divide="ignore"):  # empty blocks stay NaN
            pm, rm, gm = (_sum(x if every else np.where(fin, x, 0.0), axis=1) / count
                          for x in (pt, r, g))
        # a block walks when its centre lies in a walking span: the span's blocks by integer
        # arithmetic, a slice each (no per-span array)
        c0 = b0 * B + B // 2
        walking = np.zeros(nb, dtype=bool)
        self._walk = [w for w in self._walk if w[1] >= i0]
        for a, b in self._walk:
            lo, hi = max(0, -((c0 - a) // B)), min(nb, -((c0 - b) // B))
            if lo < hi:
                walking[lo:hi] = True
        av = _pad(h.get("av", i0, i1), h, i0, i1).reshape(nb, B)
        # blocks with missing samples (a gap's edge) are never still: std is NaN there
        quiet = (gm < p.still_gyro_rads) & (_std_rows(av) < p.still_acc_std_ms2)
        seated = self._transitions(h, b0, quiet, walking, valid)
        # the codes straight away (string arrays cost several times more per block)
        code = np.where(walking, _WALKING, np.where(
            (np.abs(pm) > p.bending_tilt_deg) | (np.abs(rm) > p.side_lean_deg)
            | (gm > p.moving_gyro_rads), _OTHER,
            np.where((pm < p.sitting_tilt_deg) | seated, _SITTING, _STANDING)))
        code = np.where(valid, code, np.int8(0)).astype(np.int8)
        self._block_next = b1
        keep = fin.reshape(-1)
        idx = np.arange(i0, i1)[keep]
        return Blocks(b0, code, pm, rm, valid, idx, roll[keep], pitch[keep],
                      np.repeat(code, B)[keep])

    def _transitions(self, h: History, b0: int, quiet: np.ndarray, walking: np.ndarray,
                     valid: np.ndarray) -> np.ndarray:
        """Sitting down and standing up, from how far the pelvis moves vertically between two
        quiet spells at most ``transition_max_s`` apart: the vertical acceleration integrated
        twice, the velocity taken as zero in both quiet spells (Najafi et al. 2002 find
        postural transitions from a trunk sensor's vertical acceleration the same way). Down
        by more than ``seat_drop_m`` is sitting down; up by as much, standing up. Returns the
        seated state per block."""
        p = self.params
        B = p.block
        spell = round(p.still_spell_s / p.block_s)
        out = np.zeros(len(quiet), dtype=bool)
        # one step per run of equal blocks (not per block): invalid, walking, still, moving
        code = np.where(~valid, 0, np.where(walking, 1, np.where(quiet, 2, 3)))
        edges = np.flatnonzero(code[1:] != code[:-1]) + 1
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
                end = (b0 + r1) * B
                anchors = [k for k in self._strikes if k <= end]
                self._quiet_end = anchors[0] if anchors else end
                # the pelvis is as high at the end of a stride as at its start: the stride
                # after the anchor fixes its starting speed (strike timing is only ~+-30 ms)
                self._stride_end = anchors[2] if len(anchors) >= 3 else None
            elif c == 2:
                q = self._qrun
                self._qrun = q + (r1 - r0)
                if q < spell <= self._qrun:  # a still spell, not a pause inside a move
                    j = r0 + spell - q - 1
                    q0 = (b0 + j - spell + 1) * B
                    if self._quiet_end is not None and 0 < q0 - self._quiet_end <= \
                            (p.transition_max_s + p.transition_slack_s) * RATE_HZ:
                        self._vertical_move(h, self._quiet_end, q0, self._stride_end)
                    self._in_quiet = True
                    flip = j
            else:
                if self._in_quiet:
                    self._quiet_end = (b0 + r0) * B
                    self._stride_end = None
                self._in_quiet, self._qrun = False, 0
            out[r0:flip] = before
            out[flip:r1] = self._seated
        return out

    def _vertical_move(self, h: History, i0: int, i1: int, stride_end: int | None) -> None:
        a = h.get("av", i0, i1)
        if len(a) != i1 - i0 or not np.isfinite(a).all():
            return
        v = np.cumsum(a) * DT
        if stride_end is not None and i0 < stride_end < i1:
            v -= v[: stride_end - i0].mean()  # no net rise over the walk's stride
            v -= np.linspace(0.0, v[-1], len(v))  # and still at the end
        else:
            v -= np.linspace(0.0, v[-1], len(v))  # zero velocity at both ends
        rise = float(v.sum() * DT)
        log.debug("pelvis moved %+.2f m vertically between grid %d and %d", rise, i0, i1)
        if rise < -self.params.seat_drop_m:
            self._seated = True
        elif rise > self.params.seat_drop_m:
            self._seated = False


_sum = np.add.reduce  # = ndarray.sum, without its Python wrapper


def _std_rows(x: np.ndarray) -> np.ndarray:
    """``x.std(axis=1)`` by the same ufunc steps as numpy's (so the same values), without
    its wrapper's cost, which at 100 blocks a call was most of it."""
    n = x.shape[1]
    d = x - _sum(x, axis=1, keepdims=True) / n
    return np.sqrt(_sum(d * d, axis=1) / n)


def _pad(x: np.ndarray, h: History, i0: int, i1: int) -> np.ndarray:
    """``x`` as got from history for [i0, i1), with NaN where the history holds nothing."""
    if len(x) == i1 - i0:
        return x
    out = np.full(i1 - i0, np.nan)
    a = max(i0, h.start)
    out[a - i0: a - i0 + len(x)] = x
    return out
