"""Limits of the single-leg stance (Trendelenburg) test and of the hip-abductor exercises: every
default with its unit, meaning and source (docs/exercise.md has the long form).

A wearer's own values live in a TOML file (``--settings FILE``: top-level keys as below, or one
table per exercise, ``[clamshell]`` with ``rotation_deg = 8``) and single values can be set on the
command line (``--set clamshell_rotation_deg=8``). One validation function names the field, the
value and the allowed range.

Angles are changes in degrees: for the test from the wearer's neutral standing, for a rep from
the rep's own start posture (so a lying exercise is judged in its own position).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from beltline.errors import DataError
from beltline.pipeline.settings import check_names, parse_pairs, read_toml

EXERCISES = ("standing_abduction", "side_lying_leg_lift", "clamshell", "glute_bridge",
             "hip_airplane")
# which compensations each exercise judges; the exercise's own motion is never a fault (the
# bridge's tilt, the airplane's rotation)
JUDGED: dict[str, tuple[str, ...]] = {
    "standing_abduction": ("hike", "drop", "tilt", "rotation"),
    "side_lying_leg_lift": ("hike", "tilt", "rotation"),
    "clamshell": ("hike", "tilt", "rotation"),
    "glute_bridge": ("hike", "rotation"),
    "hip_airplane": ("hike", "drop", "tilt"),
}


@dataclass(frozen=True)
class ExerciseSettings:
    """Test criteria and per-exercise limits (degrees, seconds)."""

    # --- single-leg stance (Trendelenburg) test ---------------------------------------------
    # Hardcastle & Nade 1985 (JBJS-B 67:741): the test is negative only if the pelvis on the
    # non-stance side is held level (or raised) for 30 s; it is positive if it drops, and a
    # timer records how long before it falls ("delayed" positive). A held drop of about 2 cm
    # across the pelvis is the visible sign (DESIGN.md §4): over the 25-28 cm between the iliac
    # crests (bi-iliac breadth ~28 cm in adult women) that is 4.1-4.6 deg; 4.5 deg is the
    # middle of the 4-5 deg band.
    test_drop_deg: float = 4.5
    # the drop must stay beyond the threshold this long (1-s smoothed) to count as held; a
    # sway excursion of a second is not a sign
    test_dwell_s: float = 2.0
    test_hold_s: float = 30.0  # Hardcastle & Nade 1985
    # a hold this much shorter than test_hold_s still completes the test: from a recording we
    # cannot know when the guide said "change", and a person reacts in 1-3 s (ours)
    test_hold_tolerance_s: float = 5.0
    # --- exercises: the pelvis change within a rep beyond which the rep is compensated -------
    # Obliquity ("hike" = the working side rises, quadratus lumborum substitution; "drop" = the
    # swing side falls, the stance abductors give way). Standing: the Trendelenburg criterion,
    # ~2 cm across the pelvis = 4.5 deg. Side-lying: Cynn et al. 2006 (Arch Phys Med Rehabil
    # 87:1454) measured the lateral pelvic tilt of a side-lying hip abduction at 13.9 +- 4.7 deg
    # as people prefer to do it and 5.6 +- 4.2 deg with the lumbar spine stabilised; we flag a
    # rep beyond 5 deg, about the stabilised mean, the way it is coached ("do not hike").
    standing_abduction_hike_deg: float = 4.5
    standing_abduction_drop_deg: float = 4.5
    # tilt: 5 deg from the rep's start is twice the 2-4 deg a pelvis tilts within a stride
    # (DESIGN.md §4), so a rep tilting more leans or flexes the hip (TFL substitution; ours)
    standing_abduction_tilt_deg: float = 5.0
    # rotation about the vertical: turning the pelvis makes abduction into flexion; 6 deg is
    # ~1.3 cm of forward travel of one hip over the 12 cm half-width (ours)
    standing_abduction_rotation_deg: float = 6.0
    side_lying_leg_lift_hike_deg: float = 5.0  # Cynn et al. 2006, see above
    side_lying_leg_lift_tilt_deg: float = 6.0  # hip flexion substitution (ours)
    side_lying_leg_lift_rotation_deg: float = 6.0  # rolling back (ours; see clamshell)
    # the clam's one fault is rolling the pelvis back: Willcox & Burden 2013 (JOSPT 43:325) found
    # a neutral, stacked pelvis recruits the gluteals best, and Selkowitz et al. 2013 (JOSPT
    # 43:54) rate the clam highest for gluteal over TFL activity; no study gives a number:
    # 6 deg (ours)
    clamshell_hike_deg: float = 5.0
    clamshell_tilt_deg: float = 6.0
    clamshell_rotation_deg: float = 6.0
    # the bridge: pelvis level to the floor (rotation about its long axis) and no hike; the
    # single-leg bridge test's transverse-plane measure has a 2.4 deg standard error and a
    # 6.6 deg minimal detectable change (Andrade et al., Rev Bras Fisioter 2012 16:268); 5 deg
    # is about twice that standard error (ours)
    glute_bridge_hike_deg: float = 5.0
    glute_bridge_rotation_deg: float = 5.0
    # the airplane: the pelvis rotates over the stance hip (its motion), kept level and hinged
    airplane_hike_deg: float = 6.0
    airplane_drop_deg: float = 6.0
    airplane_tilt_deg: float = 10.0  # the hinge depth changing within a rep (ours)

    def limits(self, exercise: str) -> dict[str, float]:
        """The judged reasons of ``exercise`` and their limits (deg)."""
        prefix = "airplane" if exercise == "hip_airplane" else exercise
        return {r: float(getattr(self, f"{prefix}_{r}_deg")) for r in JUDGED[exercise]}


_LIMITS: dict[str, tuple[float, float]] = {
    "test_drop_deg": (0.5, 20.0),
    "test_dwell_s": (0.0, 30.0),
    "test_hold_s": (5.0, 120.0),
    "test_hold_tolerance_s": (0.0, 60.0),
}
_ANGLE = (0.5, 60.0)


def validate(s: ExerciseSettings) -> ExerciseSettings:
    """Check every value against its range; raise ``DataError`` naming the field."""
    for f in fields(s):
        v = getattr(s, f.name)
        lo, hi = _LIMITS.get(f.name, _ANGLE)
        if not lo <= v <= hi:
            raise DataError(f"setting {f.name}={v} is outside its allowed range {lo}..{hi}")
    if s.test_hold_tolerance_s >= s.test_hold_s:
        raise DataError(f"test_hold_tolerance_s={s.test_hold_tolerance_s} must be shorter than "
                        f"test_hold_s={s.test_hold_s}")
    return s


def _coerce(name: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise DataError(f"setting {name} needs a number, got {value!r}") from exc


def with_overrides(base: ExerciseSettings, values: dict[str, object]) -> ExerciseSettings:
    """``base`` with ``values`` applied (unknown names are an error), validated."""
    check_names(ExerciseSettings, values, "exercise setting")
    new: dict[str, Any] = {k: _coerce(k, v) for k, v in values.items()}
    return validate(replace(base, **new))


def _flatten(data: dict[str, Any]) -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in data.items():
        if isinstance(v, dict):  # [clamshell] rotation_deg = 8 -> clamshell_rotation_deg
            prefix = "airplane" if k == "hip_airplane" else k
            for k2, v2 in v.items():
                out[f"{prefix}_{k2}"] = v2
        else:
            out[k] = v
    return out


def load(path: Path | None = None, overrides: list[str] | None = None) -> ExerciseSettings:
    """Defaults, then the TOML file, then ``NAME=VALUE`` overrides (``--set``)."""
    s = ExerciseSettings()
    if path is not None:
        s = with_overrides(s, _flatten(read_toml(path)))
    # clamshell.rotation_deg=8 is clamshell_rotation_deg
    return with_overrides(s, {k.replace(".", "_"): v for k, v in parse_pairs(overrides).items()})


def as_dict(s: ExerciseSettings) -> dict[str, float]:
    return asdict(s)


__all__ = ["EXERCISES", "JUDGED", "ExerciseSettings", "as_dict", "load", "validate",
           "with_overrides"]
