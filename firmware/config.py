"""Settings kept on flash across power cycles, written atomically: a new file is written and
then renamed over the old one, so a power cut leaves either the old or the new settings.

Every value is checked on load, one key at a time (``valid``): a bad or missing value falls
back to its default and the good ones are kept, so no file (torn, edited, written by an older
firmware) can stop the unit. The same checks guard the control commands (``control.py``).

    key       default    allowed                      meaning
    mode      0          0, 1                         0 tracking (silent), 1 training (buzz)
    haptics   1          0, 1                         the motor may buzz at all
    full      1          0, 1                         stream full samples (1) or angles only
    drop_deg  6.5        DROP_DEG                     hip drop alert: stance peak of roll, deg
    tilt_deg  5.0        TILT_DEG                     anterior tilt alert, deg above neutral
    dwell_s   12.0       DWELL_S                      tilt held this long before an alert, s
    mount     identity   a rotation (MOUNT_TOL)       sensor -> pelvis, row-major 3x3
    auto      1          0, 1                         1 motion-triggered recording (wear.py):
                                                      with no host the unit logs only while
                                                      worn; 0 it logs everything, always
    still_dps 0.15       STILL_DPS                    below: table-still (a window's gyro RMS)
    worn_dps  0.3        WORN_DPS                     above: the body moves it (sway or more)
    start_s   4.0        START_S                      worn this long in a row: recording starts
    stop_s    180.0      STOP_S                       table-still this long in a row: it stops

Why those motion thresholds (``wear.py`` has the measure): a still unit's gyro shows only its
noise, 0.01-0.02 dps RMS after the block mean for the LSM6DSO (3.8 mdps/sqrt(Hz), ST DS12140
Table 3) and the MPU-6050 (0.005 dps/sqrt(Hz), InvenSense PS-MPU-6000A 6.1), 0.035 dps median
with the virtual wearer's pessimistic 0.086 dps per sample; 0.15 dps is 4x that. Quiet standing
sways the trunk ~0.3-0.5 deg RMS (Winter 1995, Gait & Posture 3:193): 1.4 dps median in the
virtual wearer's 0.3-deg sway, never below 0.4; a wearer seated at a desk with a third of that
sway (0.1 deg) measures 0.46 dps median, never below 0.16: above still_dps always, above
worn_dps most seconds. A vibrating table (20-50 Hz buzz up to 1 m/s^2, lorries at 8-15 Hz) stays
below 0.11 dps: the block mean damps it. A knock is one or two windows above worn_dps: a start
needs start_s of them in a row. The stop time is long enough for a motionless minute of a wearer
and short enough that a belt put down costs little of the logbook (3 min: ~1300 records).
"""

import json
import math
import os

DEFAULTS = {"mode": 0, "haptics": 1, "full": 1, "drop_deg": 6.5, "tilt_deg": 5.0,
            "dwell_s": 12.0, "mount": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            "auto": 1, "still_dps": 0.15, "worn_dps": 0.3, "start_s": 4.0, "stop_s": 180.0}
# limits (inclusive): the host's settings allow these ranges (pipeline/settings.py); the dwell
# is at most 29 s because the alert keeps one bit per second in a small int (alerts.py)
DROP_DEG = (1.0, 30.0)
TILT_DEG = (0.5, 40.0)
DWELL_S = (2.0, 29.0)
# the two motion thresholds' ranges do not overlap: still_dps < worn_dps whatever is set
STILL_DPS = (0.03, 0.25)
WORN_DPS = (0.25, 5.0)
START_S = (2.0, 6.0)  # at most 6: the pre-trigger buffer (app.PRETRIGGER_S) outlasts it
STOP_S = (30.0, 3600.0)
MOUNT_TOL = 0.02  # rows of a rotation: unit length and orthogonal within this, det ~ +1


def _number(v, lo, hi):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
        and lo <= v <= hi


def valid_mount(m):
    """A proper rotation, row-major (9 finite numbers)."""
    if not isinstance(m, (list, tuple)) or len(m) != 9:
        return False
    for x in m:
        if not _number(x, -1.0 - MOUNT_TOL, 1.0 + MOUNT_TOL):
            return False
    for i in range(3):
        for j in range(i, 3):
            d = m[3 * i] * m[3 * j] + m[3 * i + 1] * m[3 * j + 1] + m[3 * i + 2] * m[3 * j + 2]
            if abs(d - (1.0 if i == j else 0.0)) > MOUNT_TOL:
                return False
    det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + \
        m[2] * (m[3] * m[7] - m[4] * m[6])
    return det > 0.9


def valid(key, v):
    if key in ("mode", "haptics", "full", "auto"):
        return v in (0, 1) and not isinstance(v, float)
    if key == "drop_deg":
        return _number(v, DROP_DEG[0], DROP_DEG[1])
    if key == "tilt_deg":
        return _number(v, TILT_DEG[0], TILT_DEG[1])
    if key == "dwell_s":
        return _number(v, DWELL_S[0], DWELL_S[1])
    if key == "mount":
        return valid_mount(v)
    if key == "still_dps":
        return _number(v, STILL_DPS[0], STILL_DPS[1])
    if key == "worn_dps":
        return _number(v, WORN_DPS[0], WORN_DPS[1])
    if key == "start_s":
        return _number(v, START_S[0], START_S[1])
    if key == "stop_s":
        return _number(v, STOP_S[0], STOP_S[1])
    return False


def load(path):
    """The settings in ``path``, each checked: returns (settings, number of values refused)."""
    out = dict(DEFAULTS)
    out["mount"] = list(DEFAULTS["mount"])
    bad = 0
    try:
        with open(path) as f:
            got = json.load(f)
    except (OSError, ValueError, MemoryError):
        return out, 0  # no file yet, or an unreadable one: the defaults
    if not isinstance(got, dict):
        return out, 1
    for k in DEFAULTS:
        if k in got:
            v = got[k]
            if valid(k, v):
                out[k] = [float(x) for x in v] if k == "mount" else v
            else:
                bad += 1
    return out, bad


def save(path, values):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump(values, f)
    os.rename(tmp, path)
