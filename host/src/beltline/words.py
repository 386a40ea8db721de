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


# --- the single-leg stance (Trendelenburg) test and the exercises ---------------------------

EXERCISE_NAMES = {"standing_abduction": "standing hip abduction",
                  "side_lying_leg_lift": "side-lying leg lift", "clamshell": "clamshell",
                  "glute_bridge": "glute bridge", "hip_airplane": "hip airplane"}
REASON_WORDS = {"hike": "the working side hiked", "drop": "the swing side dropped",
                "tilt": "the pelvis tilted", "rotation": "the pelvis rotated"}


def trendelenburg_leg(stance_leg: str, verdict: str, drop_deg: float, hold_s: float,
             time_to_drop_s: float, threshold_deg: float, hold_required_s: float) -> str:
    """One leg of the test in words, named by the stance leg: "standing on the right leg your
    left side dropped 6.2° within 8 s: a positive test"."""
    swing = other(stance_leg)
    head = f"standing on the {stance_leg} leg"
    if verdict == "incomplete" and not hold_s > 0:
        return f"{head}: no single-leg stance was found, so this leg was not tested"
    if drop_deg != drop_deg:  # NaN: nothing measured
        level = "your pelvis could not be measured"
    elif drop_deg >= 0.5:
        level = f"your {swing} side dropped {drop_deg:.1f}°"
    elif drop_deg <= -0.5:
        level = f"your {swing} side rose {-drop_deg:.1f}°"
    else:
        level = "your pelvis stayed level"
    if verdict == "positive":
        if time_to_drop_s != time_to_drop_s:  # NaN
            when = ""
        elif time_to_drop_s < 1.0:
            when = " at once"
        else:
            when = f" within {time_to_drop_s:.0f} s"
        return (f"{head} {level}{when}, beyond {threshold_deg:.1f}° and held: a positive test")
    if verdict == "negative":
        return f"{head} {level} over {hold_s:.0f} s: a negative test"
    return (f"{head} {level}, but your foot came down after {hold_s:.0f} s, before "
            f"{hold_required_s:.0f} s: the test is incomplete")


def exercise_name(name: str) -> str:
    return EXERCISE_NAMES.get(name, name.replace("_", " "))


def rep_reasons(reason: str, sep: str = "+") -> str:
    """A rep's reasons in words: "the working side hiked and the pelvis rotated"."""
    parts = [REASON_WORDS.get(r, r) for r in reason.split(sep) if r]
    if not parts:
        return "the pelvis stayed within its limits"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def rep_verdict(rep: int, side: str, flag: str, reason: str, obliquity_change_deg: float,
                tilt_change_deg: float, rotation_deg: float, sep: str = "+") -> str:
    """A rep as announced live: "rep 3 (left leg): ok", "rep 4 (right leg): compensated — the
    working side hiked 5.1°"."""
    head = f"rep {rep} ({working_side(side)})"
    if flag != "compensated":
        return f"{head}: ok"
    size = {"hike": abs(obliquity_change_deg), "drop": abs(obliquity_change_deg),
            "tilt": abs(tilt_change_deg), "rotation": abs(rotation_deg)}
    parts = [f"{REASON_WORDS.get(r, r)} {size.get(r, float('nan')):.1f}°"
             for r in reason.split(sep) if r]
    why = (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]) \
        if parts else "beyond its limits"
    return f"{head}: compensated — {why}"


def working_side(side: str) -> str:
    """The working leg in words."""
    return {"left": "left leg", "right": "right leg", "both": "both legs"}.get(side,
                                                                             "an unknown side")


def set_summary(exercise: str, side: str, reps: int, compensated: int,
                reasons: dict[str, int]) -> str:
    """A set in words: "clamshell, left leg: 10 reps, 3 compensated (the pelvis rotated 3×)"."""
    head = f"{exercise_name(exercise)}, {working_side(side)}: {reps} rep{'s' * (reps != 1)}"
    if not reps:
        return f"{exercise_name(exercise)}: no reps were found"
    if not compensated:
        return f"{head}, all with the pelvis kept within its limits"
    why = ", ".join(f"{REASON_WORDS.get(r, r)} {n}×" for r, n in reasons.items() if n)
    return f"{head}, {compensated} compensated ({why})"
