"""The words a person reads: a hip drop names the stance leg and the side that drops."""

from beltline import words


def test_a_hip_drop_names_the_stance_leg_and_the_side_that_drops() -> None:
    assert words.episode("hip_drop", "right") == "hip drop in right-leg stance (left side drops)"
    assert words.episode("hip_drop", "left", capital=True) == \
        "Hip drop in left-leg stance (right side drops)"
    assert words.episode("hip_hike", "left") == "hip hike in left-leg stance (right side rises)"


def test_obliquity_is_named_by_the_lower_side() -> None:
    assert words.episode("pelvic_obliquity", "left") == "pelvic obliquity, left side lower"
    assert words.obliquity(2.2) == "right side 2.2° lower"  # + = right side lower (DESIGN §3)
    assert words.obliquity(-3.0) == "left side 3.0° lower"
    assert words.obliquity(0.2) == "level"
    assert words.episode("anterior_tilt", "") == "anterior tilt"
