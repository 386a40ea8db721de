"""The dashboard's figure builders: pure functions, signs and colours."""

from __future__ import annotations

from beltline.dashboard import figures
from beltline.pipeline.episodes import Episode


def test_ruler_draws_the_lower_side_lower_and_colours_by_threshold() -> None:
    fig = figures.ruler(4.0, threshold_deg=3.0)
    belt = fig.data[1]
    assert belt.text == ("L", "R")
    assert belt.y[1] < 0 < belt.y[0]  # right side lower: the right end is lower
    assert belt.line.color == figures.RED
    assert "right side 4.0° lower" in fig.layout.title.text
    left = figures.ruler(-2.0, threshold_deg=3.0)
    assert left.data[1].y[0] < 0 < left.data[1].y[1]
    assert left.data[1].line.color == figures.AMBER
    assert figures.ruler(0.2, 3.0).data[1].line.color == figures.GREEN
    assert "level" in figures.ruler(0.2, 3.0).layout.title.text
    assert "waiting" in figures.ruler(None, 3.0).layout.title.text


def test_tilt_gauge_shows_the_value_and_the_threshold() -> None:
    fig = figures.tilt_gauge(6.3, threshold_deg=5.0)
    ind = fig.data[0]
    assert ind.value == 6.3
    assert ind.gauge.threshold.value == 5.0
    assert ind.gauge.bar.color == figures.RED


def test_timeline_shades_every_episode() -> None:
    eps = [Episode("hip_drop", "left", 10, 40, 9, 8, "walking", 30),
           Episode("anterior_tilt", "", 50, 70, 9, 8, "standing", 0)]
    fig = figures.timeline([0, 1, 2], [0, 1, 0], [1, 1, 1], eps)
    shapes = fig.layout.shapes
    assert len(shapes) == 2
    assert (shapes[0].x0, shapes[0].x1) == (10, 40)
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["Hip drop in left-leg stance (right side drops)", "Anterior tilt"]


def test_stride_drops_by_stance_leg() -> None:
    fig = figures.stride_drops([(1.0, "left", 4.0), (1.5, "right", 3.0),
                                (2.0, "left", float("nan"))])
    assert [t.name for t in fig.data] == ["left stance", "right stance"]
    assert list(fig.data[0].y) == [4.0]
    assert list(fig.data[1].x) == [1.5]
