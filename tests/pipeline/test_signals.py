"""The pipeline's own Butterworth design and IIR filter against scipy.signal, the oracle (the
pipeline itself never imports scipy.signal: it costs ~1 s at start-up)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from scipy.signal import butter, lfilter, lfilter_zi

from beltline.pipeline.signals import IIR, RATE_HZ, butter2

DESIGNS = [("lowpass", 0.25), ("lowpass", 3.0), ("lowpass", 20.0), ("bandpass", (0.5, 4.0)),
           ("bandpass", (0.5, 2.0)), ("bandpass", (0.8, 3.0))]


@pytest.mark.parametrize(("kind", "cut"), DESIGNS)
def test_butter2_matches_scipy(kind: str, cut: float | tuple[float, float]) -> None:
    nyq = RATE_HZ / 2
    wn = (cut[0] / nyq, cut[1] / nyq) if isinstance(cut, tuple) else cut / nyq
    b, a = butter2(kind, cut)
    rb, ra = butter(2, wn, btype=kind)
    np.testing.assert_allclose(b, rb, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(a, ra, rtol=1e-12, atol=1e-15)


def test_butter2_refuses_what_it_cannot_design() -> None:
    with pytest.raises(ValueError, match="lowpass"):
        butter2("highpass", 1.0)
    with pytest.raises(ValueError, match="between"):
        butter2("lowpass", 60.0)


@pytest.mark.parametrize(("kind", "cut"), DESIGNS)
@pytest.mark.parametrize("channels", [1, 3])
def test_iir_equals_lfilter_in_any_chunking(kind: str, cut: float | tuple[float, float],
                                            channels: int) -> None:
    ba = butter2(kind, cut)
    rng = np.random.default_rng(4)
    shape = (10007, channels) if channels > 1 else (10007,)
    x = rng.normal(size=shape).cumsum(axis=0) + 9.81  # drift and an offset, as real signals
    zi = lfilter_zi(*ba)
    first = x[0][None, :] if channels > 1 else x[0]
    ref, _ = lfilter(*ba, x, axis=0, zi=(zi[:, None] if channels > 1 else zi) * first)
    for cuts in ([0, 10007], [0, 1, 5, 70, 3000, 10007], [*list(range(0, 10007, 4)), 10007]):
        f = IIR(ba, channels)
        y = np.concatenate([f(x[i:j]) for i, j in itertools.pairwise(cuts)])
        assert y.shape == x.shape
        assert np.abs(y - ref).max() <= 1e-10 * np.abs(x).max()


def test_iir_of_nothing_and_reset() -> None:
    f = IIR(butter2("lowpass", 3.0))
    assert len(f(np.zeros(0))) == 0
    a = f(np.full(50, 2.0))
    np.testing.assert_allclose(a, 2.0)  # steady state from the first value: no transient
    f.reset()
    np.testing.assert_allclose(f(np.full(5, -1.0)), -1.0)


def test_the_pipeline_does_not_import_scipy_signal() -> None:
    code = ("import sys, numpy as np\n"
            "from beltline.pipeline import Pipeline\n"
            "p = Pipeline()\n"
            "t = np.arange(3000) * 0.01\n"
            "acc = np.tile([0.0, 0.0, 9.81], (3000, 1)); gyr = np.zeros((3000, 3))\n"
            "p.push(t, acc, gyr)\n"
            "print('scipy.signal' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_analyze_help_imports_neither_numpy_nor_the_simulator() -> None:
    code = ("import sys\n"
            "from beltline.cli import main\n"
            "try:\n    main(['analyze', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'scipy', 'beltline.sim.scenarios') "
            "if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
