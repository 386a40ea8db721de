"""Session review as plain functions over pandas data frames (``beltline.analysis``).

A session is three frames — ``samples`` (t_s, obliquity_deg, tilt_deg, activity), ``steps``
(t_s, side, drop_deg, tilt_deg, range_deg, cadence_spm; side = the stance leg of the stance
that follows the strike) and ``episodes`` (kind, side, start_s, end_s, peak_deg, mean_deg,
activity, steps) — plus its metadata (calibration, settings). Load one from the store, an
export folder or a raw CSV, then::

    from beltline.analysis import load_export, stance_table, fatigue_trend, summary
    s = load_export("walk-3/")
    stance_table(s)            # per stance leg: stances, mean drop, share above threshold
    fatigue_trend(s, "left")   # the drop over the walk: steady, a trend or a step
    measures_table(s)          # every number the summary says, labelled
    print("\\n".join(summary(s)))

Angles in degrees; obliquity + = right side lower, tilt + = anterior, from the standing neutral.
"""

from .measures import (
    asymmetry,
    cadence,
    drop_by_minute,
    episode_table,
    fatigue_trend,
    measures_table,
    sample_period,
    session_measures,
    stance_table,
    stance_table_for_people,
    standing_tilt,
    summary,
    symmetry_index,
    theil_sen,
    walking_clock,
    walking_minutes,
)
from .session import (
    EPISODE_COLUMNS,
    SAMPLE_COLUMNS,
    STEP_COLUMNS,
    SWING,
    Session,
    from_result,
    from_rows,
    load_export,
    load_store,
)

__all__ = [
    "EPISODE_COLUMNS",
    "SAMPLE_COLUMNS",
    "STEP_COLUMNS",
    "SWING",
    "Session",
    "asymmetry",
    "cadence",
    "drop_by_minute",
    "episode_table",
    "fatigue_trend",
    "from_result",
    "from_rows",
    "load_export",
    "load_store",
    "measures_table",
    "sample_period",
    "session_measures",
    "stance_table",
    "stance_table_for_people",
    "standing_tilt",
    "summary",
    "symmetry_index",
    "theil_sen",
    "walking_clock",
    "walking_minutes",
]
