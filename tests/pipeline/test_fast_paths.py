"""The pipeline's faster forms of plain computations give what the plain forms give."""

from __future__ import annotations

import numpy as np
import pytest

from beltline.pipeline.activity import _std_rows
from beltline.pipeline.episodes import Unit, _Track
from beltline.pipeline.signals import History


class _PlainHistory:
    """History as it was: the channels concatenated on every append, trimmed in big steps."""

    def __init__(self, keep: int) -> None:
        self.keep, self.start, self.end = keep, 0, 0
        self.data: dict[str, np.ndarray] = {}

    def append(self, start: int, **channels: np.ndarray) -> None:
        if not self.data:
            self.start = start
            self.data = {k: np.asarray(v) for k, v in channels.items()}
        else:
            assert start == self.end
            self.data = {k: np.concatenate([self.data[k], channels[k]]) for k in self.data}
        self.end = start + len(next(iter(channels.values())))
        if (self.end - self.start) - 2 * self.keep > 0:
            drop = (self.end - self.start) - self.keep
            self.data = {k: v[drop:] for k, v in self.data.items()}
            self.start += drop

    def get(self, name: str, i0: int, i1: int) -> np.ndarray:
        a = max(i0, self.start) - self.start
        b = max(min(i1, self.end) - self.start, a)
        return self.data[name][a:b]


@pytest.mark.parametrize("seed", range(4))
def test_history_holds_what_a_plain_one_holds_and_never_changes_what_it_gave(
        seed: int) -> None:
    rng = np.random.default_rng(seed)
    keep = int(rng.integers(20, 400))
    fast, plain = History(keep), _PlainHistory(keep)
    k = int(rng.integers(0, 1000))
    given: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(150):
        big = rng.random() < 0.1  # now and then a piece longer than the history itself
        n = int(rng.integers(1, 3 * keep if big else max(2, keep // 3)))
        x, y = rng.normal(size=n), rng.normal(size=n)
        fast.append(k, x=x, y=y)
        plain.append(k, x=x, y=y)
        k += n
        assert (fast.start, fast.end) == (plain.start, plain.end)
        for _ in range(4):
            i0 = int(rng.integers(plain.start - 30, plain.end + 5))
            i1 = i0 + int(rng.integers(0, 3 * keep))
            np.testing.assert_array_equal(fast.get("x", i0, i1), plain.get("x", i0, i1))
            np.testing.assert_array_equal(fast.get("y", i0, i1), plain.get("y", i0, i1))
        part = fast.get("y", fast.start, fast.end)
        given.append((part, part.copy()))
    for part, copy in given:
        np.testing.assert_array_equal(part, copy)


def test_history_starts_again_after_clear() -> None:
    h = History(10)
    h.append(5, x=np.arange(8.0))
    h.clear()
    h.append(100, x=np.arange(3.0))
    assert (h.start, h.end) == (100, 103)
    np.testing.assert_array_equal(h.get("x", 0, 200), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="contiguous"):
        h.append(104, x=np.zeros(2))


def test_block_spread_is_numpys_std() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        x = rng.normal(9.8, rng.uniform(0.001, 5.0), size=(int(rng.integers(1, 150)), 10))
        x[rng.random(x.shape) < 0.01] = np.nan  # a gap's edge: those blocks stay NaN
        np.testing.assert_array_equal(_std_rows(x), x.std(axis=1))


def test_an_episode_track_counts_the_hits_in_its_window() -> None:
    rng = np.random.default_rng(4)
    track = _Track("hip_drop", "left", window=10, on=7, off=3, pause_max_s=5.0, min_s=3.0)
    t = 0.0
    for _ in range(2000):
        t += float(rng.choice([0.5, 0.6, 9.0], p=[0.6, 0.38, 0.02]))  # now and then a pause
        track.feed(Unit(t, t + 0.5, float(rng.normal(5, 2)), bool(rng.random() < 0.5),
                        "walking", 1))
        assert track.hits == sum(u.hit for u in track.recent)
