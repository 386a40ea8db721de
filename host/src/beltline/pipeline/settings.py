"""Detector settings: every default with its unit, meaning and clinical source (DESIGN.md §4).

A wearer's own values live in a TOML file (``beltline analyze --settings FILE``), and single
values can be overridden on the command line (``--set hip_drop_deg=4``). One validation function
checks names and ranges and says what is allowed.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from beltline.errors import DataError


@dataclass(frozen=True)
class Settings:
    """Episode rules. Angles in degrees relative to the wearer's calibrated references."""

    # Hip drop. Each single-leg stance's swing-side drop is measured against the pelvis's level
    # at the stance's own two heel strikes (double support), so it needs no neutral. Healthy
    # obliquity range of motion is 9.4 +- 3.5 deg (women), 7.4 +- 3.4 deg (men) per stride
    # (Smith, Lelas & Kerrigan 2002, n=120), i.e. a swing-side drop of about 3.7-4.7 +- 1.7 deg,
    # and healthy walkers show no left/right difference (Pietraszewski et al. 2012, reference
    # gait data; on the shared lower-back walkers, Voisard et al. 2023: per-walk median drop
    # 3.4 deg, at most 6.3 deg; left minus right at most 2.1 deg, 90th percentile 1.1 deg).
    # A Trendelenburg sign is a held extra drop of ~4-5 deg (about 2 cm across the pelvis).
    # A stance shows a drop when the swing side drops at least `hip_drop_floor_deg` and one of:
    # more than the healthy band allows (`hip_drop_normal_max_deg`, about the healthy mean + 2
    # SD of Smith et al.: bilateral weakness, the "runway" walk, shows here), more than the
    # other leg's recent stances (`hip_drop_asymmetry_deg`: a drop present from the first
    # step), or more than the wearer's own drop in their first normal walk (`hip_drop_deg`).
    # `hip_drop_normal_max_deg` 7.5: half of the mean + 2 SD range in Smith et al. (women 8.2,
    # men 7.1).
    hip_drop_deg: float = 2.5
    hip_drop_floor_deg: float = 5.0
    hip_drop_normal_max_deg: float = 7.5
    hip_drop_asymmetry_deg: float = 2.5
    # The same over mid-stance (the middle half of the step, single support: where a
    # Trendelenburg sign is held), the swing side's mean drop: healthy walkers 1.7 deg in
    # median, at most 3.9; left minus right at most 3.3 (90th percentile 1.5). Its normal
    # maximum is that of the peak less a little (a pelvis whose drop is held through stance
    # has a mid-stance drop close to its peak).
    hip_drop_mid_floor_deg: float = 3.0
    hip_drop_mid_normal_max_deg: float = 7.0
    hip_drop_mid_asymmetry_deg: float = 3.0
    # The wearer's own reference (their first walk's drop per side) counts only while it lies
    # in the healthy range: a wearer who already drops then is measured against normal.
    hip_drop_reference_min_deg: float = 2.0
    hip_drop_reference_max_deg: float = 5.5
    # Evidence over many strides, per stance side: the last N single-leg stances of that side;
    # an episode starts when at least `on` of them show the drop and ends when at most `off`
    # do. Sized for the short walks of daily life (a 10 m walk has ~7 stances per leg).
    hip_drop_window_steps: int = 10
    hip_drop_on_steps: int = 7
    hip_drop_off_steps: int = 3
    # Hip hike: the swing side RAISED above the double-support level in mid-stance (the
    # quadratus lumborum lifting it to clear the foot instead of the hip abductors holding the
    # pelvis). A healthy swing side is lower in mid-stance (about 1-4 deg), so a rise of this
    # much is a hike; its own episode (`hip_hike`, side = stance leg) with the hip-drop window.
    hip_hike_deg: float = 1.5
    # Anterior tilt: tilt above the wearer's reference (neutral standing; the calibration walk
    # while walking). Anatomical tilt differs by 13 +- 5 deg between people (Preece et al. 2008),
    # so only the change from the wearer's own neutral is judged; 5 deg is about twice the
    # within-stride tilt excursion (2-4 deg).
    anterior_tilt_deg: float = 5.0
    # Standing pelvic obliquity: the lower side held lower than this. 3 deg is about 1.5 cm
    # across the pelvis, the size of a leg-length difference clinicians start to treat.
    obliquity_deg: float = 3.0
    # Tilt and standing obliquity use 1-s windows; an episode starts when `on` of the last
    # `window` eligible seconds exceed the threshold and ends when at most `off` do (hysteresis).
    posture_window_s: int = 20
    posture_on_s: int = 16
    posture_off_s: int = 5
    # An episode survives a pause without evidence (a stop at a crossing, sitting down for a
    # moment) up to this long; longer pauses close it at its last evidence.
    pause_max_s: float = 20.0
    # "Sustained": an episode opens only once its evidence spans this long, whatever the
    # cadence (a few seconds of drop when stepping off a kerb are not an episode; a short walk
    # across a room and back is).
    min_episode_s: float = 10.0
    # Steps whose pelvis turns faster than this (deg/s, about the vertical) are turning steps:
    # counted but not used as hip-drop evidence (the pelvis leans into a turn).
    turn_rate_dps: float = 30.0
    # What the belt unit does on its own when an episode starts (sent to it after each
    # calibration, kept on the unit across power cuts): "tracking" records silently (the
    # default: users dislike buzzing they did not ask for, DESIGN.md §4); "training" buzzes the
    # vibration motor (two pulses, again every 30 s while it lasts) to cue a correction.
    alert_mode: str = "tracking"


_LIMITS: dict[str, tuple[float, float]] = {
    "hip_drop_deg": (0.5, 20.0),
    "hip_drop_floor_deg": (0.0, 20.0),
    "hip_drop_normal_max_deg": (1.0, 30.0),
    "hip_drop_asymmetry_deg": (0.5, 20.0),
    "hip_drop_mid_floor_deg": (0.0, 20.0),
    "hip_drop_mid_normal_max_deg": (1.0, 30.0),
    "hip_drop_mid_asymmetry_deg": (0.5, 20.0),
    "hip_hike_deg": (0.0, 20.0),
    "hip_drop_reference_min_deg": (0.0, 20.0),
    "hip_drop_reference_max_deg": (0.0, 20.0),
    "hip_drop_window_steps": (2, 200),
    "hip_drop_on_steps": (1, 200),
    "hip_drop_off_steps": (0, 199),
    "anterior_tilt_deg": (0.5, 30.0),
    "obliquity_deg": (0.5, 20.0),
    "posture_window_s": (2, 600),
    "posture_on_s": (1, 600),
    "posture_off_s": (0, 599),
    "pause_max_s": (0.0, 3600.0),
    "min_episode_s": (0.0, 3600.0),
    "turn_rate_dps": (5.0, 360.0),
}
_CHOICES: dict[str, tuple[str, ...]] = {"alert_mode": ("tracking", "training")}


def validate(s: Settings) -> Settings:
    """Check every value against its allowed range; raise ``DataError`` naming the field."""
    for f in fields(s):
        v = getattr(s, f.name)
        if f.name in _CHOICES:
            if v not in _CHOICES[f.name]:
                raise DataError(f"setting {f.name}={v!r} must be one of "
                                f"{', '.join(_CHOICES[f.name])}")
            continue
        lo, hi = _LIMITS[f.name]
        if not lo <= v <= hi:
            raise DataError(f"setting {f.name}={v} is outside its allowed range {lo}..{hi}")
    if not s.hip_drop_off_steps < s.hip_drop_on_steps <= s.hip_drop_window_steps:
        raise DataError("hip drop steps must satisfy off < on <= window, got "
                        f"{s.hip_drop_off_steps}, {s.hip_drop_on_steps}, "
                        f"{s.hip_drop_window_steps}")
    if not s.posture_off_s < s.posture_on_s <= s.posture_window_s:
        raise DataError("posture seconds must satisfy off < on <= window, got "
                        f"{s.posture_off_s}, {s.posture_on_s}, {s.posture_window_s}")
    return s


def _coerce(name: str, value: object) -> Any:
    kind = type(getattr(Settings(), name))
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"setting {name} needs a {kind.__name__}, got {value!r}") from exc


def check_names(cls: type, values: dict[str, object], what: str = "setting") -> None:
    """Every name in ``values`` is a field of the settings dataclass ``cls``; else one line
    naming it, with the closest names."""
    known = sorted(f.name for f in fields(cls))
    for k in values:
        if k not in known:
            close = difflib.get_close_matches(str(k), known, n=3)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise DataError(f"unknown {what} {str(k)[:60]!r}{hint}; the settings are listed "
                            "in the README (Settings)")


def with_overrides(base: Settings, values: dict[str, object]) -> Settings:
    """``base`` with ``values`` applied (unknown names are an error), validated."""
    check_names(Settings, values)
    new: dict[str, Any] = {k: _coerce(k, v) for k, v in values.items()}
    return validate(replace(base, **new))


def load(path: Path | None = None, overrides: list[str] | None = None) -> Settings:
    """Defaults, then the TOML file (top-level keys as in ``Settings``), then ``NAME=VALUE``
    overrides."""
    s = Settings()
    if path is not None:
        s = with_overrides(s, read_toml(path))
    return with_overrides(s, parse_pairs(overrides))


def read_toml(path: Path) -> dict[str, Any]:
    """A settings file's TOML, or one line saying what is wrong with it."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"settings file {path} not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"settings file {path} is not valid TOML: {exc}") from exc


def parse_pairs(items: list[str] | None) -> dict[str, object]:
    """``--set NAME=VALUE`` options as a dict (values as text, coerced by the settings)."""
    pairs: dict[str, object] = {}
    for item in items or []:
        if "=" not in item:
            raise DataError(f"--set expects NAME=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        pairs[k.strip()] = v.strip()
    return pairs


def as_dict(s: Settings) -> dict[str, float | int | str]:
    return asdict(s)
