"""The dashboard's figure builders and the live view: pure functions, signs, colours, words."""

from __future__ import annotations

import dash
import pytest

from beltline.dashboard import figures, view
from beltline.pipeline.calibration import CalibrationProgress
from beltline.pipeline.episodes import Episode, OpenEpisode
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveState, snapshot


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


def test_patches_edit_only_a_few_properties() -> None:
    p = figures.ruler_patch(5.0, figures.RED, "Standing on the left leg: right side drops 5.0°")
    ops = p.to_plotly_json()["operations"]
    assert {tuple(o["location"]) for o in ops} == {
        ("data", 1, "y"), ("data", 1, "line", "color"), ("data", 1, "marker", "color"),
        ("layout", "title", "text")}
    y = next(o for o in ops if o["location"] == ["data", 1, "y"])["params"]["value"]
    assert y[1] < 0 < y[0]  # + = right side lower: the right end lower
    g = figures.tilt_gauge_patch(6.3, 5.0).to_plotly_json()["operations"]
    assert len(g) == 2


def test_stance_bars_left_leg_first_with_thresholds() -> None:
    fig = figures.stance_bars([3.1, 9.6], [figures.GREEN, figures.RED], [6.5, 6.6])
    bar = fig.data[0]
    assert bar.x[0].startswith("standing on the left leg:<br>right side drops")
    assert bar.x[1].startswith("standing on the right leg:<br>left side drops")
    assert "threshold 6.6°" in bar.x[1]
    assert list(bar.text) == ["3.1°", "9.6°"]
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.y0 for s in lines] == [6.5, 6.6]
    assert lines[0].x1 < lines[1].x0  # each over its own bar


def test_tilt_gauge_shows_the_value_and_the_threshold() -> None:
    fig = figures.tilt_gauge(6.3, threshold_deg=5.0)
    ind = fig.data[0]
    assert ind.value == 6.3
    assert ind.gauge.threshold.value == 5.0
    assert ind.gauge.bar.color == figures.RED


def test_timeline_shades_every_episode_in_one_shapes_list() -> None:
    eps = [Episode("hip_drop", "left", 10, 40, 9, 8, "walking", 30),
           Episode("anterior_tilt", "", 50, 70, 9, 8, "standing", 0)]
    fig = figures.timeline([0, 1, 2], [0, 1, 0], [1, 1, 1], eps)
    shapes = fig.layout.shapes
    assert len(shapes) == 2
    assert (shapes[0].x0, shapes[0].x1) == (10, 40)
    texts = [a.text for a in fig.layout.annotations]
    assert texts == ["Hip drop in left-leg stance (right side drops)", "Anterior tilt"]


def test_a_week_of_episodes_is_one_shapes_list(monkeypatch: pytest.MonkeyPatch) -> None:
    import plotly.graph_objects as go

    def per_episode(*_a: object, **_k: object) -> None:
        raise AssertionError("one shape added per episode re-checks all earlier ones")

    monkeypatch.setattr(go.Figure, "add_vrect", per_episode)
    monkeypatch.setattr(go.Figure, "add_shape", per_episode)
    eps = [Episode("hip_drop", "left", 100.0 * i, 100.0 * i + 30, 9, 8, "walking", 30)
           for i in range(861)]  # a week's episodes (issue 16)
    fig = figures.timeline([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], eps)
    assert len(fig.layout.shapes) == 861
    assert fig.data[-1].name == "episodes (hover)"  # too many to name on the plot
    assert fig.data[-1].hovertext[0] == "Hip drop in left-leg stance (right side drops)"
    assert len(fig.layout.annotations) == 0


def test_stride_drops_by_stance_leg() -> None:
    fig = figures.stride_drops([(1.0, "left", 4.0), (1.5, "right", 3.0),
                                (2.0, "left", float("nan"))])
    assert [t.name for t in fig.data] == ["left-leg stance (right side drops)",
                                          "right-leg stance (left side drops)"]
    assert list(fig.data[0].y) == [4.0]
    assert list(fig.data[1].x) == [1.5]


def _state(**kw: object) -> dict[str, object]:
    st = LiveState()
    st.calibrated = True
    for k, v in kw.items():
        setattr(st, k, v)
    return snapshot(st, 0)


def test_the_ruler_follows_the_stance_not_the_standing_threshold() -> None:
    cfg = Settings()
    s = _state(activity="walking", stance="right", references={"left": 4.0, "right": 4.0},
               last_stance={"left": (10.0, 4.5), "right": (10.5, 9.6)}, data_t=11.0)
    angle, colour, title = view.ruler_view(s, cfg)
    assert title == "Standing on the right leg: left side drops 9.6°"
    assert angle == -9.6  # left side lower
    assert colour == figures.AMBER  # above 4.0 + 2.5; no episode (yet)
    # a normal step during walking is green, though it is beyond the 3° standing threshold
    s = _state(activity="walking", stance="left", references={"left": 4.0, "right": 4.0},
               last_stance={"left": (10.0, 4.5)}, data_t=11.0)
    assert view.ruler_view(s, cfg)[1] == figures.GREEN
    # an ongoing hip drop in right-leg stance turns that leg red
    ep = OpenEpisode("hip_drop", "right", 5.0, 10.5, 10.5, 9.9)
    s = _state(activity="walking", stance="right", references={"left": 4.0, "right": 4.0},
               last_stance={"right": (10.5, 9.6)}, open_episodes=[ep], data_t=12.0)
    assert view.ruler_view(s, cfg)[1] == figures.RED
    assert [x.colour for x in view.stances(s, cfg)] == [figures.GREY, figures.RED]
    # standing: the held obliquity against the standing threshold; sitting does not count
    s = _state(activity="standing", held_obliquity=3.4)
    assert view.ruler_view(s, cfg) == (3.4, figures.RED, "Standing: right side 3.4° lower")
    s = _state(activity="sitting", held_obliquity=3.4)
    assert view.ruler_view(s, cfg)[1:] == (figures.GREY, "Sitting (does not count)")


def test_guidance_counts_down_then_counts_steps_then_says_done() -> None:
    cfg = Settings()
    s = _state(calibrated=False, calibration=CalibrationProgress("stand", quiet_s=3.0))
    assert "7 s to go" in view.guide(s)[0]
    assert "7 s to go" in view.ruler_view(s, cfg)[2]
    s = _state(calibrated=False, calibration=CalibrationProgress("stand", quiet_s=10.0))
    assert "now walk" in view.guide(s)[0]
    s = _state(calibrated=False, calibration=CalibrationProgress("walk", steps=12,
                                                                  steps_needed=40))
    assert "12 of 40 steps" in view.guide(s)[0]
    s = _state(calibration=CalibrationProgress("done", done_s=40.0), data_t=45.0)
    assert view.guide(s) == (view.guide_lines(CalibrationProgress("done"))[1], True)
    assert "Calibration done" in view.guide(s)[0]
    s = _state(calibration=CalibrationProgress("done", done_s=40.0), data_t=90.0)
    assert view.guide(s) == ("", False)


def test_banner_and_list_agree_and_close_when_the_posture_is_left() -> None:
    ep = OpenEpisode("pelvic_obliquity", "right", 100.0, 160.0, 160.0, 5.5)
    s = _state(activity="standing", open_episodes=[ep], data_t=163.0)
    assert view.banner(s)[0] == "⚠ Pelvic obliquity, right side lower since 1:40"
    assert view.episode_lines(s)[0].startswith(
        "Pelvic obliquity, right side lower: ongoing since 1:40")
    # walked away: no evidence for longer than STALE_S -> the banner closes, the list says so
    s = _state(activity="walking", open_episodes=[ep], data_t=160.0 + view.STALE_S + 1)
    assert view.banner(s) == ("", "")
    assert view.episode_lines(s) == ["Pelvic obliquity, right side lower: 1:40–2:40, peak "
                                     "5.5° (ended)"]
    assert view.episode_lines(_state()) == ["none yet"]


def test_cadence_and_stance_are_hidden_while_standing() -> None:
    s = _state(activity="standing", cadence_spm=104.0, stance="left")
    assert view.gait_text(s) == "Standing"
    s = _state(activity="walking", cadence_spm=104.0, stance="left")
    assert view.gait_text(s).startswith("Walking · 104 steps/min · standing on the left leg")


def test_status_hides_what_the_unit_does_not_say() -> None:
    s = _state(connection="connected", device="unit", battery_pct=None, rssi_dbm=None)
    text = view.status_text(s)
    assert "battery" not in text
    assert "signal" not in text
    s = _state(connection="connected", device="unit", battery_pct=81.0, rssi_dbm=-60.0)
    assert "battery 81 %" in view.status_text(s)


class _Live:
    def __init__(self, state: LiveState) -> None:
        self.state = state


def test_an_update_sends_only_what_changed() -> None:
    cfg = Settings()
    st = LiveState()
    st.calibrated = True
    st.activity = "standing"
    st.points.extend([(1, 0.04, 1.0, 2.0), (2, 0.08, 1.1, 2.0)])
    st.seq = 2
    st.held_obliquity = 1.05
    live = _Live(st)
    first = dict(zip(view.OUTPUTS, view.live_update(live, {"seq": 0, "h": {}}, cfg),
                     strict=True))  # type: ignore[arg-type]
    assert first["traces"] is not dash.no_update
    assert isinstance(first["ruler"], dash.Patch)
    cur = first["cursor"]
    assert cur["seq"] == 2  # type: ignore[index]
    again = dict(zip(view.OUTPUTS, view.live_update(live, cur, cfg),  # type: ignore[arg-type]
                     strict=True))
    # nothing new: every output is no_update (the figures are not resent)
    assert all(v is dash.no_update for v in again.values()), again
    st.points.append((3, 0.12, 1.2, 2.5))
    st.seq = 3
    third = dict(zip(view.OUTPUTS, view.live_update(live, cur, cfg),  # type: ignore[arg-type]
                     strict=True))
    assert third["traces"] is not dash.no_update
    assert third["gauge"] is not dash.no_update  # the tilt moved
    assert third["episodes"] is dash.no_update
    assert third["status"] is dash.no_update
