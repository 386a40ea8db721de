"""The belt off the body: lying on a table, picked up and put on, worn, taken off and put down
again; knocks on the table and a vibrating table (a motor's buzz, a lorry passing). For the
unit's motion-triggered recording (``firmware/wear.py``), with the truth of when it was worn.

One rigid body, one sensor: the whole day is one pose on the internal grid (position and
orientation of the body the unit is clipped to), turned into IMU samples by
``rigid.imu_from_pose`` in one go, so the sensor's bias, scale and clock are the same all day
and every transition is smooth (no jump in any signal). While worn, the pose is the pelvis of
``wearer.simulate`` (its gait, sway, sitting...); off the body it is that of the belt: at rest on
the table (the unit on one of its six faces, any heading), carried and fastened (minimum-jerk
moves with the hand's jiggle), with

- knocks: the belt jolts (a step of 2-6 mm and 0.5-2 deg about a horizontal axis over 80 ms,
  plus a damped 15 Hz wobble of 0.3 deg) and lies still again;
- vibration: the table top oscillating at ``hz`` with ``acc_ms2`` of acceleration (a phone's
  or a washing machine's motor: 20-50 Hz, 0.2-1 m/s^2; a lorry passing: 8-15 Hz, 0.05-0.2 m/s^2
  (ground vibration of road traffic, e.g. Hunaidi 2000, NRC Construction Technology Update 39)),
  and rocking by ``rock_deg`` about a horizontal axis at the same frequency (a table top's
  flexing: 0.005 deg is its edge moving 0.1 mm over 1 m).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from beltline.sim.poses import min_jerk, slerp
from beltline.sim.rigid import imu_from_pose, qmul, rotvec_quat
from beltline.sim.wearer import (
    ACTIVITIES,
    MOUNTS,
    OVERSAMPLE,
    Recording,
    Segment,
    Wearer,
    _smooth,
    mount_matrix,
    simulate,
)

log = logging.getLogger(__name__)

DON_S = 8.0  # picked up, carried to the body, fastened
DOFF_S = 6.0  # unfastened, carried to the table, put down
TABLE_HEIGHT_M = -0.3  # the table top relative to the standing pelvis centre
STOP_S = 180.0  # the unit's default stop time (firmware config.DEFAULTS["stop_s"])


@dataclass(frozen=True)
class Vibration:
    start_s: float
    seconds: float
    hz: float
    acc_ms2: float
    rock_deg: float = 0.005


@dataclass(frozen=True)
class DayPlan:
    """``before_s`` on the table, then (if ``worn``) picked up, worn through ``worn``, put
    down, ``after_s`` on the table. Knock and vibration times are seconds of the whole day."""

    before_s: float
    worn: list[Segment] = field(default_factory=list)
    after_s: float = 0.0
    knocks: tuple[float, ...] = ()
    vibrations: tuple[Vibration, ...] = ()
    wearer: Wearer = field(default_factory=Wearer)


@dataclass
class TableDay:
    """The day's samples (``rec``: truth of angles NaN and activity "other" off the body) and
    the truth of wear: ``worn`` = (picked up, put down) in seconds, or None; ``on_body`` =
    (fastened, unfastened); ``steps`` the heel strikes (s, foot) of the whole day."""

    rec: Recording
    worn: tuple[float, float] | None
    on_body: tuple[float, float] | None
    plan: DayPlan


def _mat_quat(m: np.ndarray) -> np.ndarray:
    """The unit quaternion (w x y z) of a rotation matrix."""
    w = np.sqrt(max(0.0, 1.0 + m[0, 0] + m[1, 1] + m[2, 2])) / 2
    x = np.sqrt(max(0.0, 1.0 + m[0, 0] - m[1, 1] - m[2, 2])) / 2
    y = np.sqrt(max(0.0, 1.0 - m[0, 0] + m[1, 1] - m[2, 2])) / 2
    z = np.sqrt(max(0.0, 1.0 - m[0, 0] - m[1, 1] + m[2, 2])) / 2
    x = np.copysign(x, m[2, 1] - m[1, 2])
    y = np.copysign(y, m[0, 2] - m[2, 0])
    z = np.copysign(z, m[1, 0] - m[0, 1])
    q = np.array([w, x, y, z])
    return q / np.linalg.norm(q)


# the unit lying on each of its faces: sensor -> world rotations (z up, z down, x up ...)
_FACES = [np.eye(3),
          np.diag([1.0, -1.0, -1.0]),
          np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
          np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]),
          np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
          np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])]


def _table_pose(rng: np.random.Generator, m: np.ndarray, lever: np.ndarray,
                near: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A body pose that puts the unit on a random face with a random heading, on the table
    top next to ``near``: (position, quaternion body -> world)."""
    yaw = rng.uniform(-np.pi, np.pi)
    c, s = np.cos(yaw), np.sin(yaw)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    r_sensor = rz @ _FACES[int(rng.integers(len(_FACES)))]
    r_body = r_sensor @ m.T  # R_sensor = R_body M (M: sensor -> body)
    q = _mat_quat(r_body)
    spot = near + np.array([rng.uniform(0.3, 0.6), rng.uniform(-0.3, 0.3), 0.0])
    spot[2] = TABLE_HEIGHT_M
    return spot - r_body @ lever, q


def _jiggle(n: int, fi: float, rng: np.random.Generator, metres: float, degrees: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """The hand's motion while carrying and fastening: smooth noise (~1 Hz band), zero at both
    ends (a sin^2 envelope)."""
    env = np.sin(np.linspace(0.0, np.pi, n)) ** 2

    def noise(scale: float) -> np.ndarray:
        pad = int(fi)
        x = np.stack([_smooth(rng.normal(0.0, 1.0, n + 2 * pad), int(fi / 3))[pad:-pad]
                      for _ in range(3)], axis=1)
        return x / max(float(np.std(x)), 1e-12) * scale * env[:, None]

    return noise(metres), noise(np.radians(degrees))


def _move(p0: np.ndarray, q0: np.ndarray, p1: np.ndarray, q1: np.ndarray, n: int, fi: float,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = min_jerk(np.linspace(0.0, 1.0, n))
    dp, dr = _jiggle(n, fi, rng, 0.03, 8.0)
    pos = p0[None] + s[:, None] * (p1 - p0)[None] + dp
    q = qmul(rotvec_quat(dr), slerp(q0, q1, s))
    return pos, q


def simulate_day(plan: DayPlan, rate_hz: float = 104.0, seed: int = 0, mount: str = "back",
                 misalign_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> TableDay:
    """The IMU samples of ``plan`` at ``rate_hz`` (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    fi = rate_hz * OVERSAMPLE
    mnt = MOUNTS[mount]
    m = mount_matrix(mnt, misalign_deg)
    lever = np.asarray(mnt.lever_m, dtype=float)
    pos_parts: list[np.ndarray] = []
    q_parts: list[np.ndarray] = []
    worn_rec: Recording | None = None
    t_on = plan.before_s + DON_S
    p_w0 = np.zeros(3)
    if plan.worn:
        pose: dict[str, np.ndarray] = {}
        worn_rec = simulate(plan.worn, rate_hz, seed=seed + 1, wearer=plan.wearer,
                            mount=mount, misalign_deg=misalign_deg, pose_out=pose)
        n_w = round(sum(s.seconds for s in plan.worn) * fi)
        pos_w, q_w = pose["pos"][:n_w], pose["q"][:n_w]
        p_w0 = pos_w[0]
    p_t, q_t = _table_pose(rng, m, lever, p_w0)
    n_before = round(plan.before_s * fi)
    pos_parts.append(np.repeat(p_t[None], n_before, axis=0))
    q_parts.append(np.repeat(q_t[None], n_before, axis=0))
    p_end, q_end = p_t, q_t
    if worn_rec is not None:
        n_don, n_doff = int(DON_S * fi), int(DOFF_S * fi)
        dp, dq = _move(p_t, q_t, pos_w[0], q_w[0], n_don, fi, rng)
        p2, q2 = _table_pose(rng, m, lever, pos_w[-1])
        up, uq = _move(pos_w[-1], q_w[-1], p2, q2, n_doff, fi, rng)
        pos_parts += [dp, pos_w, up]
        q_parts += [dq, q_w, uq]
        p_end, q_end = p2, q2
    n_after = round(plan.after_s * fi) + 8 * OVERSAMPLE  # imu_from_pose's padding
    pos_parts.append(np.repeat(p_end[None], n_after, axis=0))
    q_parts.append(np.repeat(q_end[None], n_after, axis=0))
    pos = np.concatenate(pos_parts)
    q = np.concatenate(q_parts)
    t = np.arange(len(pos)) / fi
    _knocks(pos, q, t, plan.knocks, rng)
    _vibrate(pos, q, t, plan.vibrations, rng)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    samples = imu_from_pose(pos, q, rate_hz, rng, mount, misalign_deg)
    ts = samples.t
    worn = on_body = None
    obl = np.full(len(ts), np.nan)
    tilt = np.full(len(ts), np.nan)
    activity = np.full(len(ts), ACTIVITIES[3], dtype=object)
    stance = np.full(len(ts), "", dtype=object)
    steps: list[tuple[float, str]] = []
    labels: list[tuple[str, str, float, float]] = []
    if worn_rec is not None:
        t_off = t_on + float(sum(s.seconds for s in plan.worn))
        worn = (plan.before_s, t_off + DOFF_S)
        on_body = (t_on, t_off)
        k = np.flatnonzero((ts >= t_on) & (ts < t_off))
        j = np.clip(np.searchsorted(worn_rec.t, ts[k] - t_on), 0, len(worn_rec.t) - 1)
        obl[k] = worn_rec.obliquity_deg[j]
        tilt[k] = worn_rec.tilt_deg[j]
        activity[k] = worn_rec.activity[j]
        stance[k] = worn_rec.stance[j]
        steps = [(s + t_on, foot) for s, foot in worn_rec.steps if s + t_on < t_off]
        labels = [(a, b, s + t_on, e + t_on) for a, b, s, e in worn_rec.labels]
    rec = Recording(ts, samples.acc, samples.gyr, obl, tilt, activity.astype(str),
                    stance.astype(str), steps, labels)
    return TableDay(rec, worn, on_body, plan)


def _knocks(pos: np.ndarray, q: np.ndarray, t: np.ndarray, times: tuple[float, ...],
            rng: np.random.Generator) -> None:
    for tk in times:
        i = np.flatnonzero(t >= tk)
        if not len(i):
            continue
        sl = slice(int(i[0]), None)
        u = t[sl] - tk
        step = min_jerk(u / 0.08)
        ax = rng.normal(0.0, 1.0, 2)
        axis = np.array([ax[0], ax[1], 0.0]) / max(float(np.linalg.norm(ax)), 1e-9)
        angle = np.radians(rng.uniform(0.5, 2.0)) * step + np.radians(0.3) * np.exp(
            -u / 0.06) * np.sin(2 * np.pi * 15.0 * u)
        shift = rng.normal(0.0, 1.0, 2)
        shift = np.array([*shift, 0.0]) / max(float(np.linalg.norm(shift)), 1e-9)
        pos[sl] += (rng.uniform(0.002, 0.006) * step)[:, None] * shift[None]
        q[sl] = qmul(rotvec_quat(angle[:, None] * axis[None]), q[sl])


def _vibrate(pos: np.ndarray, q: np.ndarray, t: np.ndarray, vibs: tuple[Vibration, ...],
             rng: np.random.Generator) -> None:
    for v in vibs:
        u = t - v.start_s
        on = (u > 0) & (u < v.seconds)
        if not on.any():
            continue
        # 0.5-s fade in and out: a motor spinning up, a lorry approaching
        env = np.clip(np.minimum(u, v.seconds - u) / 0.5, 0.0, 1.0)[on]
        env = env * env * (3 - 2 * env)
        w = 2 * np.pi * v.hz
        d = rng.normal(0.0, 1.0, 3)
        d[2] = abs(d[2]) + 1.0  # mostly vertical
        d /= np.linalg.norm(d)
        ph = rng.uniform(0.0, 2 * np.pi)
        pos[on] += (env * v.acc_ms2 / (w * w) * np.sin(w * u[on] + ph))[:, None] * d[None]
        ax = rng.normal(0.0, 1.0, 2)
        axis = np.array([ax[0], ax[1], 0.0]) / max(float(np.linalg.norm(ax)), 1e-9)
        rock = np.radians(v.rock_deg) * env * np.sin(w * u[on] + ph + 0.7)
        q[on] = qmul(rotvec_quat(rock[:, None] * axis[None]), q[on])


# --- the scenarios ------------------------------------------------------------------------

def _worn_day(minutes: float, rng: np.random.Generator) -> list[Segment]:
    """Put on, sit at a desk, stand, walk ``minutes``, stand, then off."""
    out = [Segment("stand", 5.0), Segment("sit_down", 2.5), Segment("sit", 120.0),
           Segment("stand_up", 2.5), Segment("stand", 60.0)]
    left = minutes * 60.0
    while left > 1.0:
        bout = min(left, float(rng.uniform(40, 90)))
        out.append(Segment("walk", bout, turn_deg=float(rng.choice([0, 90, -90, 180]))))
        left -= bout
        if left > 20:
            out.append(Segment("stand", 6.0))
            left -= 6.0
    return [*out, Segment("stand", 10.0)]


def day_plan(name: str, minutes: float, seed: int, stop_s: float = STOP_S) -> DayPlan:
    """The plan of table scenario ``name``; ``minutes``: the worn walking (table_day) or the
    time on the table (table_knocks, table_vibration). ``stop_s``: the unit's stop time, so
    that the day's end on the table outlasts it."""
    rng = np.random.default_rng(seed)
    if name == "table_day":
        before = 120.0
        worn = _worn_day(minutes, rng)
        after = stop_s + 120.0
        total = before + DON_S + sum(s.seconds for s in worn) + DOFF_S + after
        knocks = (40.0, 95.0, total - 60.0)
        return DayPlan(before, worn, after, knocks=knocks)
    seconds = minutes * 60.0
    if name == "table_knocks":
        ks: list[float] = []
        tk = float(rng.uniform(5, 20))
        while tk < seconds - 2:
            ks.append(tk)
            tk += float(rng.uniform(8, 60))
        return DayPlan(seconds, knocks=tuple(ks))
    if name == "table_vibration":
        vibs: list[Vibration] = []
        tv = 10.0
        kinds = [(25.0, 0.6), (11.0, 0.15), (48.0, 1.0), (8.0, 0.1), (33.0, 0.4)]
        k = 0
        while tv < seconds - 20:
            hz, acc = kinds[k % len(kinds)]
            dur = float(rng.uniform(8, 40)) if hz > 15 else float(rng.uniform(4, 10))
            vibs.append(Vibration(tv, min(dur, seconds - tv - 5), hz, acc))
            tv += dur + float(rng.uniform(5, 30))
            k += 1
        return DayPlan(seconds, vibrations=tuple(vibs))
    raise KeyError(f"{name!r} is not a table scenario ({', '.join(TABLE_SCENARIOS)})")


TABLE_SCENARIOS = {
    "table_day": "the belt on a table (knocked twice), picked up and worn: sitting at a desk, "
                 "standing, walking --minutes, then put down on the table (with its truth)",
    "table_knocks": "the belt lying on a table for --minutes, knocked now and then: never worn",
    "table_vibration": "the belt on a vibrating table for --minutes (a motor's buzz, lorries "
                       "passing): never worn",
}


def day(name: str, minutes: float, seed: int, rate_hz: float = 104.0,
        stop_s: float = STOP_S, mount: str = "back") -> TableDay:
    """Table scenario ``name`` (``TABLE_SCENARIOS``), deterministic for its arguments."""
    if not minutes > 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    return simulate_day(day_plan(name, minutes, seed, stop_s), rate_hz, seed, mount)


def recording(name: str, minutes: float, seed: int, rate_hz: float) -> Recording:
    """The samples of any scenario, a table one or a wearer's: what a virtual unit's IMU
    is fed (``beltline sync --virtual``, ``beltline device simulate``)."""
    if name in TABLE_SCENARIOS:
        return day(name, minutes, seed, rate_hz).rec
    from beltline.sim import scenarios

    return simulate(scenarios.build(name, minutes, seed), rate_hz, seed=seed, mount="back",
                    wearer=scenarios.wearer_for(name))


def write(name: str, minutes: float, seed: int, mount: str, rate_hz: float, out: Path) -> None:
    """``beltline simulate`` of a table scenario: the common files (``files.write``) and
    wear.json, the truth of when the belt was worn (null: never)."""
    from beltline.sim import files

    d = day(name, minutes, seed, rate_hz, mount=mount)
    files.write(d.rec, out)
    truth = {"worn_s": list(d.worn) if d.worn else None,
             "on_body_s": list(d.on_body) if d.on_body else None,
             "knocks_s": list(d.plan.knocks),
             "vibrations": [asdict(v) for v in d.plan.vibrations]}
    (out / "wear.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %d samples (%.1f min) of %s to %s", len(d.rec.t), d.rec.t[-1] / 60, name,
             out)


__all__ = ["DOFF_S", "DON_S", "TABLE_SCENARIOS", "DayPlan", "TableDay", "Vibration", "day",
           "day_plan", "recording", "simulate_day", "write"]
