"""Counting reps in a path of pelvis angles (degrees, one row per sample at ``rate``), in any
direction and of any size: a rep goes out from a resting posture and comes back (``zigzag``
finds the turning points, ``find_reps`` the reps). Used by ``reps``; no I/O, no state."""

from __future__ import annotations

import numpy as np

BACK_WEIGHT = 0.5  # coming back: how much being far from the top counts against being near rest
LEAVE_SHARE = 0.12  # a rep starts/ends where the path is this share of its excursion away
MIN_REP_S = 0.6
NOISE_WINDOW_S = 1.0
OK_SHARE = 0.4  # less than this share of the ok reps' median excursion is sway
REBOUND_COS = 0.7  # against the rep before: within ~45 deg of its opposite
REBOUND_ALONG = 0.5  # ...and not along the ok reps' direction (within ~60 deg of it)
ACROSS_SHARE = 0.7  # recounting, motion across the reps' direction counts this much


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


def drop_sway(found: list[tuple[int, int, int]], c: np.ndarray,
               smallest_limit: float) -> list[tuple[int, int, int]]:
    """Without the excursions too small to be reps: the reps under every limit (the ok ones:
    compensated reps, however many, do not count here) set the scale, and what moves less
    than ``OK_SHARE`` of their median is sway between reps."""
    # the first excursion may start from a posture still settling: its way back measures it
    exc = [size(c, r) if k == 0 else float(np.linalg.norm(c[r[1]] - c[r[0]]))
           for k, r in enumerate(found)]
    ok = [x for x in exc if x < smallest_limit]
    if len(ok) < 3:
        return found
    floor = OK_SHARE * float(np.median(ok))
    # the ok reps of a set move the same way (their median direction); an excursion within
    # every limit that goes against it is sway, not a rep (a compensated one is kept)
    vec = np.array([c[t] - c[s] for s, t, _ in found])
    okv = vec[np.array(exc) < smallest_limit]
    med = np.median(okv, axis=0)
    med = med / max(float(np.linalg.norm(med)), 1e-9)
    keep = []
    for k, (r, x, v) in enumerate(zip(found, exc, vec, strict=True)):
        if x < floor or (x < smallest_limit and float(v @ med) <= -0.5 * x):
            continue
        if k and x < smallest_limit and exc[k - 1] >= smallest_limit and float(v @ med) < (
                REBOUND_ALONG * x) and float(v @ vec[k - 1]) < -REBOUND_COS * x * exc[k - 1]:
            # coming back from a large (compensated) rep the pelvis overshoots its rest:
            # a small excursion straight against that rep, not along the set's own reps,
            # is the rebound of the rep before, not a rep
            continue
        keep.append(r)
    return keep


def rep_axis(found: list[tuple[int, int, int]], c: np.ndarray,
             smallest_limit: float) -> np.ndarray | None:
    """The way the set's ok reps go (unit vector), or None with fewer than three: the
    principal direction of their start-to-top vectors, signed along their sum. The larger
    reps weigh more (a sway excursion counted as a rep is small); the compensated reps,
    beyond a limit and in any direction, are left out."""
    vec = np.array([c[t] - c[s] for s, t, _ in found]).reshape(-1, c.shape[1])
    ok = vec[np.linalg.norm(vec, axis=1) < smallest_limit]
    if len(ok) < 3:
        return None
    u = np.linalg.eigh(ok.T @ ok)[1][:, -1]
    return u if float(np.sum(ok @ u)) >= 0 else -u


def squeeze(c: np.ndarray, u: np.ndarray, across: float) -> np.ndarray:
    """The path ``c`` with its motion across the direction ``u`` scaled by ``across``: the
    sway there is shrunk, a rep going another way (a compensated one) still shows."""
    along = np.outer(c @ u, u)
    return along + across * (c - along)


def recount_along(found: list[tuple[int, int, int]], c: np.ndarray, rate: float, h: float,
                  smallest_limit: float) -> list[tuple[int, int, int]]:
    """The reps counted again (``find_reps``, ``drop_sway``) on the path with its motion
    across the way the ``found`` ok reps go shrunk to ``ACROSS_SHARE``: the pelvis sways in
    every direction on one leg, so a wobble across the reps' way no longer passes the
    hysteresis while a rep along it is as large as before. Sizes and limits are still
    judged on ``c`` itself."""
    u = rep_axis(found, c, smallest_limit)
    if u is None:
        return found
    return drop_sway(find_reps(squeeze(c, u, ACROSS_SHARE), rate, h), c, smallest_limit)


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


__all__ = ["baseline", "drop_sway", "find_reps", "path_noise", "recount_along",
           "rep_axis", "size", "squeeze", "turn_steps", "zigzag"]
