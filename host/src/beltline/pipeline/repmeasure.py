"""How a rep's pelvis change is measured, one definition for the analysis and the virtual
wearer's truth (both give pelvis -> world rotations).

Two ways, by the exercise's position:

- **standing** (standing hip abduction, hip airplane): the standing angles of DESIGN.md §3
  (z-y-x: heading, then tilt, then obliquity; obliquity and tilt read from where "up" lies in
  the pelvis, heading about the vertical), each as the change from the rep's start. Rotation
  about the vertical leaves up in place, so the airplane's large rotation never shows as a
  hike or a tilt, whatever the hinge.
- **lying** (side-lying leg lift, clamshell, glute bridge): the rotation from the rep's start
  posture in the pelvis's own frame, as z-y-x angles: obliquity about its forward axis, tilt
  about its left axis, rotation about its long axis (in the supine bridge: one side of the
  pelvis dropping toward the floor). Lying down changes the posture by 90°: only this relative
  rotation is meaningful there.

Per rep: ``obliquity`` and ``tilt`` are the signed changes at their largest magnitude,
``rotation`` the range (largest minus smallest) of the rotation angle within the rep.
"""

from __future__ import annotations

import numpy as np

STANDING = "standing"
LYING = "lying"
REF_S = 0.2  # the rep's start posture: the mean of its first this many seconds


def zyx_deg(Rm: np.ndarray) -> np.ndarray:
    """z-y-x angles (N x 3: obliquity about x, tilt about y, rotation about z; degrees) of
    rotation matrices ``Rm`` (N x 3 x 3) = Rz(rot) Ry(tilt) Rx(obl)."""
    obl = np.arctan2(Rm[:, 2, 1], Rm[:, 2, 2])
    tilt = -np.arcsin(np.clip(Rm[:, 2, 0], -1.0, 1.0))
    rot = np.arctan2(Rm[:, 1, 0], Rm[:, 0, 0])
    return np.degrees(np.column_stack([obl, tilt, rot]))


def channels(Rpw: np.ndarray, mode: str, ref: np.ndarray | None = None) -> np.ndarray:
    """Per-sample (obliquity, tilt, rotation) in degrees of pelvis -> world rotations ``Rpw``:
    standing angles (``ref`` unused), or lying: relative to the rotation ``ref`` (3 x 3,
    default the first sample). Rotation is unwrapped (continuous through ±180°)."""
    if mode == STANDING:
        a = zyx_deg(Rpw)
    else:
        r0 = Rpw[0] if ref is None else ref
        a = zyx_deg(np.einsum("ji,njk->nik", r0, Rpw))
    a[:, 2] = np.degrees(np.unwrap(np.radians(a[:, 2])))
    return a


def rep_changes(ch: np.ndarray, rate_hz: float) -> tuple[float, float, float]:
    """(obliquity change, tilt change, rotation range) of one rep's channels (``channels``
    from its start to its end): signed changes at their largest magnitude from the start
    posture (the mean of the first ``REF_S``), the rotation's range."""
    n0 = max(1, min(len(ch), round(REF_S * rate_hz)))
    d = ch - ch[:n0].mean(axis=0)
    i_o = int(np.argmax(np.abs(d[:, 0])))
    i_t = int(np.argmax(np.abs(d[:, 1])))
    rng = float(max(d[:, 2].max(), 0.0) - min(d[:, 2].min(), 0.0))
    return float(d[i_o, 0]), float(d[i_t, 1]), rng


__all__ = ["LYING", "STANDING", "channels", "rep_changes", "zyx_deg"]
