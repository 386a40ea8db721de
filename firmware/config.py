"""Settings kept on flash across power cycles, written atomically: a new file is written and
then renamed over the old one, so a power cut leaves either the old or the new settings."""

import json
import os

DEFAULTS = {"mode": 0, "haptics": 1, "full": 1, "drop_deg": 6.5, "tilt_deg": 5.0,
            "dwell_s": 12.0, "mount": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]}


def load(path):
    out = dict(DEFAULTS)
    try:
        with open(path) as f:
            out.update(json.load(f))
    except (OSError, ValueError):
        pass  # no file yet, or an unreadable one: the defaults
    return out


def save(path, values):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        json.dump(values, f)
    os.rename(tmp, path)
