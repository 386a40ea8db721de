"""Counting reps in a path of pelvis angles (degrees, one row per sample at ``rate``), in any
direction and of any size: a rep goes out from a resting posture and comes back (``zigzag``
finds the turning points, ``find_reps`` the reps). Used by ``reps``; no I/O, no state."""

from __future__ import annotations

import numpy as np

BACK_WEIGHT = 0.5  # coming back: how much being far from the top counts against being near rest
LEAVE_SHARE = 0.12  # a rep starts/ends where the path is this share of its excursion away
MIN_REP_S = 0.6
NOISE_WINDOW_S = 1.0


def zigzag(c: np.ndarray, h: float, share: float = 0.4) -> list[int]:
    """Turning points of the path ``c`` (N x k), alternating top, bottom, top...

    Going out, the excursion is the distance from the last bottom A (at first, the start, the
    posture the set begins in): the top T is where it is largest, confirmed once it has fallen
    back by ``h`` and by ``share`` of itself (so a wiggle while a rep is held is not a turn).
    Coming back, the bottom is where the path is back near A and away from T (the largest
    ``BACK_WEIGHT |c - T| - |c - A|``): a small rep in one direction after a large one in
    another, or a rep opposite to the one before, still shows; it is confirmed once the path
    has left it by ``h``, and the next excursion is measured from it."""
    ext: list[int] = []
    e = np.linalg.norm(c - c[0], axis=1)
    a = 0
    score = e
    best_i, best = 0, 0.0
    out = True
    for i in range(1, len(c)):
        if out:
            if e[i] > best:
                best_i, best = i, float(e[i])
            elif best >= h and best - e[i] >= max(h, share * best):
                ext.append(best_i)
                out = False
                score = BACK_WEIGHT * np.linalg.norm(c - c[best_i], axis=1) - e
                j = best_i + int(np.argmax(score[best_i: i + 1]))
                best_i, best = j, float(score[j])
        else:
            if score[i] > best:
                best_i, best = i, float(score[i])
            elif float(np.linalg.norm(c[i] - c[best_i])) >= h and score[i] < best - 0.5 * h:
                ext.append(best_i)
                out = True
                a = best_i
                e = np.linalg.norm(c - c[a], axis=1)
                j = a + int(np.argmax(e[a: i + 1]))
                best_i, best = j, float(e[j])
    if not out and len(ext) % 2 == 1:
        ext.append(best_i)  # the set ends at rest (an excursion that never came back is no rep)
    return ext


def find_reps(c: np.ndarray, rate: float, h: float,
              bottoms_out: list[int] | None = None) -> list[tuple[int, int, int]]:
    """(start, top, end) indices of the reps in the angle path ``c`` (deg), see the module
    docstring; the resting turning points between them go to ``bottoms_out``."""
    if len(c) < 3:
        return []
    ext = zigzag(c, h)
    if not ext:
        return []
    tops, bottoms = ext[0::2], ext[1::2]
    if len(tops) >= 3 and len(bottoms) >= 3 and turn_steps(c, bottoms) > turn_steps(c, tops):
        # the set began inside a rep (the position was reached as it started): the resting
        # postures are the turning points that agree with each other, one rest to the next
        tops, bottoms = bottoms, [0, *tops]
    if bottoms_out is not None:
        bottoms_out.extend(bottoms)
    reps = []
    for top in tops:
        prev = max([b for b in bottoms if b < top], default=0)
        nxt = min([b for b in bottoms if b > top], default=len(c) - 1)
        exc = float(np.linalg.norm(c[top] - c[prev]))
        if exc < h:
            continue
        # leaving and coming back: within a share of the excursion (or half the hysteresis,
        # the size of sway) of the resting posture before, or of the one after
        lim = max(LEAVE_SHARE * exc, 0.5 * h)
        d0 = np.linalg.norm(c[prev: top + 1] - c[prev], axis=1)
        away = np.flatnonzero(d0 <= lim)
        s = prev + int(away[-1]) if len(away) else prev
        d1 = np.minimum(np.linalg.norm(c[top: nxt + 1] - c[nxt], axis=1),
                        np.linalg.norm(c[top: nxt + 1] - c[s], axis=1))
        back = np.flatnonzero(d1 <= lim)
        e = top + int(back[0]) if len(back) else nxt
        if prev == 0 and size(c, (s, top, e)) < h:
            continue  # the set's first moments (still settling) went out but not back
        reps.append((s, top, e))
    # sway is kept out by the hysteresis (the path's own jitter), never by comparing a rep
    # with the others: most reps of a set may be compensated and several times larger
    return [r for r in reps if (r[2] - r[0]) / rate >= MIN_REP_S]


def size(c: np.ndarray, rep: tuple[int, int, int]) -> float:
    """A rep's excursion (deg): the smaller of out (start to top) and back (top to end). A
    rep goes out from a rest and comes back to it; a posture still settling as the set
    begins (after a weight shift onto one leg) starts far from the rest, so its way out
    alone would make a rep of a wobble."""
    s, t, e = rep
    return float(min(np.linalg.norm(c[t] - c[s]), np.linalg.norm(c[t] - c[e])))


def turn_steps(c: np.ndarray, idx: list[int]) -> float:
    """How much the path's turning points ``idx`` differ from one to the next (median, deg)."""
    return float(np.median(np.linalg.norm(np.diff(c[idx], axis=0), axis=1)))


def baseline(c: np.ndarray, bottoms: list[int], rate: float) -> np.ndarray | None:
    """The resting posture over time: linear between the resting turning points (and the
    set's start), flat beyond."""
    if len(bottoms) < 2:
        return None
    w = max(1, int(0.2 * rate))
    idx = sorted({0, *bottoms})
    pts = np.array([c[max(0, i - w): i + w + 1].mean(axis=0) for i in idx])
    t = np.arange(len(c))
    return np.column_stack([np.interp(t, idx, pts[:, k]) for k in range(c.shape[1])])


def path_noise(c: np.ndarray, rate: float) -> float:
    """The path's jitter (deg): its spread within the quietest seconds of the set (the 10th
    percentile of the per-second RMS about the second's mean), so neither the reps nor a
    continuous set without rests count as noise."""
    w = max(2, round(NOISE_WINDOW_S * rate))
    k = len(c) // w
    if k < 3:
        return 0.0
    win = c[: k * w].reshape(k, w, -1)
    rms = np.sqrt(np.mean(np.sum((win - win.mean(axis=1, keepdims=True)) ** 2, axis=2), axis=1))
    return float(np.percentile(rms, 10))


__all__ = ["baseline", "find_reps", "path_noise", "size", "turn_steps", "zigzag"]
