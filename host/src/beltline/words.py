"""The words a person reads for each episode kind, side and angle: one definition, used by the
live page, the review page, the report and the command line (DESIGN.md §3).

A hip drop is named by the stance leg *and* the side that drops: "hip drop in right-leg stance
(left side drops)" — standing on the right leg, the left side of the pelvis sinks, because the
right hip's abductors do not hold it. A hip hike is the opposite pattern (the swing side is
raised in stance: the quadratus lumborum compensating). A standing obliquity is named by the
lower side.
"""

from __future__ import annotations

SIDES = ("left", "right")
KINDS = ("hip_drop", "hip_hike", "anterior_tilt", "pelvic_obliquity")
_NAMES = {"hip_drop": "hip drop", "hip_hike": "hip hike", "anterior_tilt": "anterior tilt",
          "pelvic_obliquity": "pelvic obliquity"}


def other(side: str) -> str:
    """The other leg: the swing side of a stance on ``side``."""
    return {"left": "right", "right": "left"}[side]


def kind_name(kind: str) -> str:
    """The kind alone, lower case ("hip drop"); unknown kinds pass through readable."""
    return _NAMES.get(kind, kind.replace("_", " "))


def episode(kind: str, side: str = "", capital: bool = False) -> str:
    """An episode kind with its side in words, e.g. "hip drop in right-leg stance (left side
    drops)", "pelvic obliquity, right side lower", "anterior tilt"."""
    name = kind_name(kind)
    if side in SIDES:
        if kind == "hip_drop":
            name = f"{name} in {side}-leg stance ({other(side)} side drops)"
        elif kind == "hip_hike":
            name = f"{name} in {side}-leg stance ({other(side)} side rises)"
        elif kind == "pelvic_obliquity":
            name = f"{name}, {side} side lower"
        else:
            name = f"{name} ({side})"
    return name[:1].upper() + name[1:] if capital else name


def stance(side: str) -> str:
    """A stance leg in words: "right-leg stance"."""
    return f"{side}-leg stance"


def obliquity(obliquity_deg: float, level_deg: float = 0.5) -> str:
    """An obliquity (+ = right side lower) as the lower side: "right side 2.2° lower"."""
    if abs(obliquity_deg) < level_deg:
        return "level"
    side = "right" if obliquity_deg > 0 else "left"
    return f"{side} side {abs(obliquity_deg):.1f}° lower"


def tilt(tilt_deg: float, level_deg: float = 0.5) -> str:
    """A tilt (+ = anterior) from the neutral in words."""
    if abs(tilt_deg) < level_deg:
        return "at your neutral"
    way = "anterior (top of the pelvis forward)" if tilt_deg > 0 else "posterior"
    return f"{abs(tilt_deg):.1f}° {way}"


def standing_on(side: str) -> str:
    """The stance leg as a person says it: "standing on the right leg"."""
    return f"standing on the {side} leg"


def stance_label(side: str) -> str:
    """A stance leg with the side whose drop it is measured by: "right-leg stance (left side
    drops)" — for legends, table rows and column headers."""
    return f"{stance(side)} ({other(side)} side drops)"


def swing_drops(side: str) -> str:
    """What a stance on ``side`` is judged by: "left side drops" for a right-leg stance."""
    return f"{other(side)} side drops"


def stance_drop(side: str, drop_deg: float, capital: bool = False) -> str:
    """One single-leg stance's peak swing-side drop: "standing on the right leg: left side
    drops 9.6°" (a negative drop is the swing side raised: "... left side rises 1.2°")."""
    verb = "drops" if drop_deg >= 0 else "rises"
    text = f"{standing_on(side)}: {other(side)} side {verb} {abs(drop_deg):.1f}°"
    return text[:1].upper() + text[1:] if capital else text


_ACTIVITIES = {"walking": "walking", "standing": "standing",
               "sitting": "sitting (does not count)",
               "other": "bending or moving (does not count)"}


def activity(name: str) -> str:
    """An activity as the page says it; sitting and bending never count as episodes."""
    return _ACTIVITIES.get(name, name or "–")


def clock(seconds: float) -> str:
    """A time in the session as minutes:seconds ("2:05"), hours when longer ("1:02:05")."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
