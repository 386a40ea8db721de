"""The virtual wearer: physically consistent IMU signals from a belt on a moving pelvis.

Why this module is large: it is one physical model (pelvis kinematics of each activity,
the belt's mount, the IMU's errors) whose parts share the same time base and frames.

The pelvis is a rigid body. A scenario (a list of ``Segment``s: standing, walking, sitting,
bending, ...) sets smooth targets; gait adds, as functions of the gait phase, forward progression
with within-stride speed change, vertical and lateral oscillation, obliquity with its normal
swing-side drop, tilt and rotation, plus a small heel-strike transient. Everything is built on an
internal grid at ``OVERSAMPLE`` times the output rate, then:

- accelerometer = specific force: the second derivative of the *sensor's* position (pelvis
  centre plus the lever arm rotated by the pelvis) minus gravity, rotated into the sensor frame;
- gyroscope = body angular velocity from consecutive orientations (``2 vec(q_k* q_k+1) / dt``),
  never from differentiated Euler angles;
- then the sensor errors of a datasheet: noise, bias, scale error, clock-rate error, timestamp
  jitter and 16-bit quantisation at the configured full scale.

Truth follows DESIGN.md §3: obliquity (roll) positive when the right side of the pelvis is
lower, tilt (pitch) positive anterior, both relative to the wearer's neutral standing posture.
Gait phase 0 is a left heel strike, pi a right heel strike; in left single stance (phase in
(0, pi)) the right, swing side drops, so roll is positive there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from beltline.frames import GRAVITY_MS2 as G
from beltline.frames import quat_to_matrix

OVERSAMPLE = 4
MERGE_S = 10.0  # labels of one condition this close together are one episode
# extra hip drop (a Trendelenburg sign, ~2 cm) from which walking is labelled an episode
LABEL_DROP_DEG = 4.0
ACTIVITIES = ("standing", "walking", "sitting", "other")


@dataclass(frozen=True)
class Wearer:
    """How a person moves. Defaults: a healthy adult (Smith, Lelas & Kerrigan 2002: obliquity
    range 7-9 deg per stride; tilt moves 2-4 deg within a stride)."""

    cadence_spm: float = 108.0  # steps per minute
    speed_ms: float = 1.3
    stride_cv: float = 0.02  # stride-to-stride variability of the stride time
    obliquity_rom_deg: float = 8.0  # peak-to-peak within a stride
    tilt_rom_deg: float = 3.0
    rotation_rom_deg: float = 8.0
    vertical_m: float = 0.04  # peak-to-peak, twice per stride
    # the pelvis is lowest (its upward acceleration largest) in the loading response, just
    # after the strike: the phase of the vertical oscillation, in degrees of its own (half-
    # stride) cycle (30 = 1/24 of a stride, ~45 ms at 108 steps/min)
    vertical_phase_deg: float = 30.0
    lateral_m: float = 0.04  # peak-to-peak, once per stride
    heel_strike_ms2: float = 2.5  # amplitude of the vertical transient at each heel strike
    # the braking at each heel strike: the lower trunk's forward acceleration peaks at initial
    # contact and falls steeply just after it (Zijlstra & Hof 2003); amplitude of that
    # transient (m/s^2, a damped 8 Hz cosine in the forward acceleration)
    brake_ms2: float = 2.0
    sway_deg: float = 0.3  # standing postural sway (RMS)
    sit_tilt_deg: float = -15.0  # tilt when seated (posterior: slumped on a chair)
    # How this wearer's pattern differs from the textbook one (the cues a side method reads
    # change sign between people): phase offsets of the obliquity, the lateral sway and the
    # pelvic rotation relative to the gait cycle (deg; the defaults are the textbook pattern:
    # the swing side drops just after the strike, the pelvis sways toward the stance foot and
    # turns with the leading leg).
    roll_phase_deg: float = 17.2
    lateral_phase_deg: float = 0.0
    rotation_phase_deg: float = 0.0
    # Asymmetric steps (pathological gait): 0 = even; b > 0 makes the left step (left strike
    # to right strike) shorter, e.g. 0.1 -> 47 % of the stride (phase warp psi = phi +
    # b (1 - cos phi), smooth).
    step_asymmetry: float = 0.0
    # Belt-clip wobble: the clip rotates on the belt after each heel strike, a damped
    # oscillation of this amplitude (deg; 0.3-1 on a loose belt), frequency and decay, about an
    # axis in the horizontal plane of the pelvis (``wobble_axis_deg`` from forward toward left).
    wobble_deg: float = 0.0
    wobble_hz: float = 9.0
    wobble_tau_s: float = 0.05
    wobble_axis_deg: float = 45.0


@dataclass(frozen=True)
class Mount:
    """Where the unit sits: ``axes`` columns are the sensor's x, y, z in the pelvis frame;
    ``lever_m`` the sensor's position from the pelvis centre (pelvis frame)."""

    name: str
    axes: tuple[tuple[float, float, float], ...]
    lever_m: tuple[float, float, float]


# Device upright on the belt (sensor x up), face outward: the four clip positions, and the back
# one upside down.
MOUNTS = {
    "back": Mount("back", ((0, 0, 1), (0, 1, 0), (-1, 0, 0)), (-0.12, 0.0, 0.0)),
    "left": Mount("left", ((0, 0, 1), (1, 0, 0), (0, 1, 0)), (0.0, 0.15, 0.0)),
    "right": Mount("right", ((0, 0, 1), (-1, 0, 0), (0, -1, 0)), (0.0, -0.15, 0.0)),
    "front": Mount("front", ((0, 0, 1), (0, -1, 0), (1, 0, 0)), (0.12, 0.0, 0.0)),
    "back-upside-down": Mount("back-upside-down", ((0, 0, -1), (0, -1, 0), (-1, 0, 0)),
                              (-0.12, 0.0, 0.0)),
    # off-centre on the belt: behind the left hip, facing back-left (35 deg round), and low
    "back-left": Mount("back-left", ((0, 0, 1), (np.sin(np.radians(35)), np.cos(np.radians(35)),
                                                 0), (-np.cos(np.radians(35)),
                                                      np.sin(np.radians(35)), 0)),
                       (-0.10, 0.07, -0.03)),
}


@dataclass(frozen=True)
class SensorModel:
    """Datasheet-like errors of a 6-axis MEMS IMU (LSM6DSO class at 104 Hz)."""

    acc_noise_ms2: float = 0.012  # RMS per sample
    gyro_noise_rads: float = 0.0015
    acc_bias_ms2: float = 0.04  # per-axis standard deviation, drawn once per session
    gyro_bias_rads: float = 0.004
    scale_error: float = 0.005
    clock_ppm: float = 150.0  # standard deviation of the sample-clock rate error
    jitter_s: float = 0.0005  # timestamp jitter (RMS)
    acc_range_ms2: float = 16 * G  # 16-bit full scale
    gyro_range_rads: float = np.radians(2000.0)


@dataclass(frozen=True)
class Segment:
    """One stretch of a scenario. ``activity``: stand, walk, sit, sit_down, stand_up, bend,
    weight_shift, lie, get_up. Conditions: ``hip_drop_deg`` (extra drop in ``hip_drop_side``
    stance, "left", "right" or "both" (bilateral), growing linearly to ``hip_drop_end_deg`` if
    given: fatigue), ``hip_hike_deg`` (the swing side raised this far above level in
    ``hip_hike_side`` stance instead of dropping: the quadratus lumborum's compensation),
    ``tilt_deg`` (anterior tilt offset), ``obliquity_deg`` (standing obliquity, + = right side
    lower), ``turn_deg`` (heading change spread over the segment) and ``labelled`` (whether the
    condition is an episode to detect)."""

    activity: str
    seconds: float
    hip_drop_deg: float = 0.0
    hip_drop_end_deg: float | None = None
    hip_drop_side: str = "left"
    tilt_deg: float = 0.0
    obliquity_deg: float = 0.0
    turn_deg: float = 0.0
    labelled: bool = True
    hip_hike_deg: float = 0.0
    hip_hike_side: str = "left"


@dataclass
class Recording:
    """What ``simulate`` returns: the raw stream and its truth, all at the sample times ``t``."""

    t: np.ndarray  # s, the device's sample instants (irregular: clock error and jitter)
    acc: np.ndarray  # N x 3, m/s^2, sensor frame, gravity included
    gyr: np.ndarray  # N x 3, rad/s, sensor frame
    obliquity_deg: np.ndarray
    tilt_deg: np.ndarray
    activity: np.ndarray  # str per sample, one of ACTIVITIES
    stance: np.ndarray  # "left", "right", "double" or "" per sample
    steps: list[tuple[float, str]] = field(default_factory=list)  # heel strikes (t, foot)
    labels: list[tuple[str, str, float, float]] = field(default_factory=list)
    up_sensor: np.ndarray | None = None  # N x 3, true up in the sensor frame
    quat: np.ndarray | None = None  # N x 4, pelvis-to-world (w, x, y, z) at the samples
    turn_dps: np.ndarray | None = None  # heading change rate (deg/s, the walk's turning)


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Three passes of a moving average (a quadratic B-spline kernel): smooth to 2nd order."""
    if width < 2:
        return x
    for _ in range(3):
        c = np.cumsum(np.concatenate([np.full(width, x[0]), x, np.full(width, x[-1])]))
        x = ((c[width:] - c[:-width]) / width)[width // 2: width // 2 + len(x)]
    return x


def _interp(ts: np.ndarray, t: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(ts, t, x[:, i]) for i in range(x.shape[1])], axis=1)


def sample_sensor(t: np.ndarray, fi: float, acc_s: np.ndarray, gyr_s: np.ndarray,
                  rate_hz: float, total: float, rng: np.random.Generator, sensor: SensorModel
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the IMU reports of the sensor-frame signals ``acc_s``/``gyr_s`` on the internal
    grid ``t``: sample instants with the clock-rate error and jitter (strictly increasing, as
    a device's), then scale, bias and noise, then the counts' quantisation and range. Returns
    the instants, acc, gyr and each instant's nearest grid index (``fi``: the grid's rate).
    The random draws come in one fixed order, so the same generator state gives the same
    samples."""
    ppm = rng.normal(0.0, sensor.clock_ppm) * 1e-6
    n_out = int(total * rate_hz)
    ts = np.arange(n_out) / (rate_hz * (1 + ppm))
    ts = ts + rng.normal(0.0, sensor.jitter_s, n_out)
    ts = np.clip(ts, 0.0, t[-1] - 0.5 / fi)
    ts = ts[np.concatenate([[True], np.diff(ts) > 0])]
    acc = _interp(ts, t, acc_s)
    gyr = _interp(ts, t, gyr_s)
    acc = acc * (1 + rng.normal(0, sensor.scale_error, 3)) + rng.normal(0, sensor.acc_bias_ms2, 3)
    gyr = gyr * (1 + rng.normal(0, sensor.scale_error, 3)) + rng.normal(0, sensor.gyro_bias_rads, 3)
    acc += rng.normal(0.0, sensor.acc_noise_ms2, acc.shape)
    gyr += rng.normal(0.0, sensor.gyro_noise_rads, gyr.shape)
    acc = _quantise(acc, sensor.acc_range_ms2)
    gyr = _quantise(gyr, sensor.gyro_range_rads)
    nearest = np.clip(np.round(ts * fi).astype(int), 0, len(t) - 1)
    return ts, acc, gyr, nearest


def body_motion(pos: np.ndarray, q: np.ndarray, dt: float, mnt: Mount,
                misalign_deg: tuple[float, float, float]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sensor's specific force and the body's angular rate, both in the pelvis frame, of
    a pelvis at ``pos`` (n x 3, m) with orientation ``q`` (n x 4, pelvis -> world) on a grid
    of step ``dt``, and the mount matrix (pelvis -> sensor: ``f @ m`` is what it measures)."""
    rmat = quat_to_matrix(q)
    m = mount_matrix(mnt, misalign_deg)
    lever = np.asarray(mnt.lever_m, dtype=float)
    p_sensor = pos + rmat @ lever
    acc_w = np.gradient(np.gradient(p_sensor, dt, axis=0), dt, axis=0)
    f_w = acc_w + np.array([0.0, 0.0, G])
    f_pelvis = np.einsum("nji,nj->ni", rmat, f_w)  # R^T f
    dq = _qmul(q[:-1] * np.array([1, -1, -1, -1]), q[1:])
    dq *= np.sign(dq[:, :1])
    w_mid = 2.0 * dq[:, 1:] / dt  # body rate at the midpoints
    w_body = np.empty((len(pos), 3))
    w_body[1:-1] = 0.5 * (w_mid[:-1] + w_mid[1:])
    w_body[0], w_body[-1] = w_mid[0], w_mid[-1]
    return f_pelvis, w_body, m


def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w1, x1, y1, z1 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    w2, x2, y2, z2 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2, w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2, w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2],
                    axis=-1)


def _axis_quat(angle: np.ndarray, axis: int) -> np.ndarray:
    q = np.zeros((*np.shape(angle), 4))
    q[..., 0] = np.cos(angle / 2)
    q[..., 1 + axis] = np.sin(angle / 2)
    return q


def mount_matrix(mount: Mount, misalign_deg: tuple[float, float, float]) -> np.ndarray:
    """Sensor-to-pelvis rotation: the mount's axes, then a small misalignment (x, y, z deg)."""
    base = np.array(mount.axes, dtype=float).T  # columns: sensor axes in the pelvis frame
    mis = np.radians(misalign_deg)
    q = _qmul(_qmul(_axis_quat(mis[2], 2), _axis_quat(mis[1], 1)), _axis_quat(mis[0], 0))
    return quat_to_matrix(q[None])[0] @ base


def simulate(segments: list[Segment], rate_hz: float = 100.0, seed: int = 0,
             wearer: Wearer | None = None, mount: str | Mount = "back",
             misalign_deg: tuple[float, float, float] | None = None,
             sensor: SensorModel | None = None,
             pose_out: dict[str, np.ndarray] | None = None) -> Recording:
    """Generate a recording of ``segments`` at ``rate_hz`` (deterministic for a ``seed``).
    ``pose_out``, if given, receives the pelvis pose on the internal grid (``t``, ``pos``,
    ``q``) for motions built around this one (``sim.table``: the belt on and off)."""
    if not 10.0 <= rate_hz <= 1000.0:
        raise ValueError(f"rate_hz must be 10..1000, got {rate_hz}")
    if not segments:
        raise ValueError("a scenario needs at least one segment")
    rng = np.random.default_rng(seed)
    wearer = wearer or Wearer()
    sensor = sensor or SensorModel()
    mnt = MOUNTS[mount] if isinstance(mount, str) else mount
    if misalign_deg is None:
        misalign_deg = tuple(rng.normal(0.0, 3.0, 3))
    fi = rate_hz * OVERSAMPLE
    dt = 1.0 / fi
    total = sum(s.seconds for s in segments)
    n = int(np.ceil(total * fi)) + 8 * OVERSAMPLE
    t = np.arange(n) * dt

    # --- piecewise targets per internal sample -------------------------------------------
    walk = np.zeros(n)
    pitch_t = np.zeros(n)
    roll_t = np.zeros(n)
    z_t = np.zeros(n)
    x_fwd_t = np.zeros(n)  # forward shift of sitting
    yaw_rate = np.zeros(n)
    drop = np.zeros(n)
    drop_left = np.zeros(n)  # 1 where the drop is in left stance (and in both: bilateral)
    drop_right = np.zeros(n)
    hike = np.zeros(n)
    hike_left = np.zeros(n)
    act = np.empty(n, dtype=object)
    labels: list[tuple[str, str, float, float]] = []
    start = 0.0
    sitting = False
    for seg in segments:
        i0, i1 = round(start * fi), round((start + seg.seconds) * fi)
        sl = slice(i0, i1)
        k = seg.activity
        base_z = -0.45 if sitting else 0.0
        z_t[sl] = base_z
        x_fwd_t[sl] = 0.1 if sitting else 0.0
        if k == "walk":
            walk[sl] = 1.0
            act[sl] = "walking"
            yaw_rate[sl] = np.radians(seg.turn_deg) / max(seg.seconds, 1e-9)
        elif k in ("stand", "weight_shift"):
            act[sl] = "standing"
            if k == "weight_shift":  # slow side-to-side shifts, +-3 deg, 4 s period
                roll_t[sl] = 3.0 * np.sign(np.sin(2 * np.pi * (t[sl] - start) / 4.0))
        elif k in ("sit_down", "stand_up"):
            act[sl] = "other"
            frac = np.clip((t[sl] - start) / seg.seconds, 0, 1)
            frac = frac if k == "sit_down" else 1 - frac
            z_t[sl] = -0.45 * frac
            x_fwd_t[sl] = 0.1 * frac
            pitch_t[sl] = 25.0 * np.sin(np.pi * frac) + wearer.sit_tilt_deg * frac
            sitting = k == "sit_down"
        elif k == "sit":
            act[sl] = "sitting"
            z_t[sl] = -0.45
            x_fwd_t[sl] = 0.1
            pitch_t[sl] = wearer.sit_tilt_deg
            sitting = True
        elif k == "bend":
            act[sl] = "other"
            frac = np.clip((t[sl] - start) / seg.seconds, 0, 1)
            pitch_t[sl] = 55.0 * np.sin(np.pi * frac) ** 2
        elif k == "lie":  # on the back: the pelvis tilted back by nearly 90 deg, low
            act[sl] = "other"
            z_t[sl] = -0.75
            pitch_t[sl] = -85.0
            sitting = False
        elif k == "get_up":  # from lying, through sitting, to standing
            act[sl] = "other"
            frac = np.clip((t[sl] - start) / seg.seconds, 0, 1)
            z_t[sl] = -0.75 * (1 - frac)
            pitch_t[sl] = -85.0 * (1 - frac) ** 2
        else:
            raise ValueError(f"unknown activity {k!r} (stand, walk, sit, sit_down, stand_up, "
                             "bend, weight_shift, lie, get_up)")
        pitch_t[sl] += seg.tilt_deg
        roll_t[sl] += seg.obliquity_deg
        if seg.hip_drop_deg or seg.hip_drop_end_deg:
            end = seg.hip_drop_end_deg if seg.hip_drop_end_deg is not None else seg.hip_drop_deg
            drop[sl] = np.linspace(seg.hip_drop_deg, end, i1 - i0)
            if seg.hip_drop_side not in ("left", "right", "both"):
                raise ValueError(f"hip_drop_side must be left, right or both, got "
                                 f"{seg.hip_drop_side!r}")
            drop_left[sl] = seg.hip_drop_side in ("left", "both")
            drop_right[sl] = seg.hip_drop_side in ("right", "both")
            # a growing drop (fatigue) is an episode from when it reaches LABEL_DROP_DEG
            grown = np.flatnonzero(drop[sl] >= LABEL_DROP_DEG)
            if seg.labelled and len(grown):
                for side in (("left", "right") if seg.hip_drop_side == "both"
                             else (seg.hip_drop_side,)):
                    labels.append(("hip_drop", side, start + grown[0] / fi,
                                   start + seg.seconds))
        if seg.hip_hike_deg:
            if seg.hip_hike_side not in ("left", "right"):
                raise ValueError(f"hip_hike_side must be left or right, got "
                                 f"{seg.hip_hike_side!r}")
            hike[sl] = seg.hip_hike_deg
            hike_left[sl] = seg.hip_hike_side == "left"
            if seg.labelled and k == "walk":
                labels.append(("hip_hike", seg.hip_hike_side, start, start + seg.seconds))
        # tilt counts while walking or standing, obliquity while standing (DESIGN.md §4)
        if seg.tilt_deg and seg.labelled and k in ("walk", "stand", "weight_shift"):
            labels.append(("anterior_tilt", "", start, start + seg.seconds))
        if seg.obliquity_deg and seg.labelled and k in ("stand", "weight_shift"):
            side = "right" if seg.obliquity_deg > 0 else "left"
            labels.append(("pelvic_obliquity", side, start, start + seg.seconds))
        start += seg.seconds
    act[act == None] = act[round((start - 1e-9) * fi) - 1]  # noqa: E711 -- tail padding
    labels = sorted(_merge(sorted(labels, key=lambda x: (x[0], x[1], x[2]))),
                    key=lambda x: x[2])

    # smooth transitions: ~0.8 s for posture, ~1.5 s (two steps) for starting/stopping gait
    w_post = max(2, int(0.8 * fi / 3))
    env = _smooth(walk, max(2, int(1.5 * fi / 3)))
    pitch_s = _smooth(pitch_t, w_post)
    roll_s = _smooth(roll_t, w_post)
    drop = _smooth(drop, w_post)  # a condition sets in over a step, not within one sample
    hike = _smooth(hike, w_post)
    z_s = _smooth(z_t, w_post)
    xf_s = _smooth(x_fwd_t, w_post)
    yaw = np.cumsum(_smooth(yaw_rate, max(2, int(1.0 * fi / 3)))) * dt

    # --- gait phase: stride frequency with stride-to-stride variability -------------------
    f_stride = wearer.cadence_spm / 120.0
    stride_mult = 1.0 + rng.normal(0.0, wearer.stride_cv, int(total * f_stride) + 8)
    idx = np.minimum((t * f_stride).astype(int), len(stride_mult) - 1)
    rate = _smooth(2 * np.pi * f_stride / stride_mult[idx], max(2, int(0.3 * fi / 3)))
    phase = np.cumsum(rate * (env > 0.02)) * dt
    if wearer.step_asymmetry:  # a smooth, monotonic warp: one step shorter than the other
        phase = phase + wearer.step_asymmetry * (1 - np.cos(phase))
    ph = np.mod(phase, 2 * np.pi)

    # --- pelvis angles (rad) and position (m) -----------------------------------------------
    left_st = np.sin(ph).clip(min=0.0)  # 0..1 bump in left single stance
    right_st = (-np.sin(ph)).clip(min=0.0)
    # hip drop: the swing side sinks further in the named leg's stance (peak in mid-stance)
    drop_shape = drop_left * left_st**2 - drop_right * right_st**2
    # hip hike: in the named leg's stance the swing side rises above level instead of
    # dropping (the normal drop is cancelled and the side raised by `hike` at mid-stance)
    half_rom = 0.5 * wearer.obliquity_rom_deg
    hike_shape = np.where(hike_left > 0, -left_st**2, right_st**2) * (hike + half_rom) * (
        hike > 0)
    roll = np.radians(roll_s + env * (half_rom * np.sin(ph + np.radians(wearer.roll_phase_deg))
                                      + drop * drop_shape + hike_shape))
    tilt = np.radians(pitch_s + env * 0.5 * wearer.tilt_rom_deg * np.sin(2 * ph - 0.5))
    rot = np.radians(env * 0.5 * wearer.rotation_rom_deg * np.sin(
        ph - np.pi / 2 + np.radians(wearer.rotation_phase_deg)))
    for angle in (roll, tilt):  # postural sway while not walking, ~1 Hz band, sway_deg RMS
        pad = int(fi)
        sway = _smooth(rng.normal(0, 1, n + 2 * pad), int(fi / 3))[pad:-pad]
        angle += np.radians(sway * wearer.sway_deg / max(float(np.std(sway)), 1e-12) * (1 - env))
    heading = yaw + rot

    speed = wearer.speed_ms * env * (1.0 + 0.06 * np.cos(2 * ph))
    dx = np.cos(yaw) * speed * dt
    dy = np.sin(yaw) * speed * dt
    strike_tr = _heel_transients(phase, env, t, wearer.heel_strike_ms2)
    brake = _brake_transients(phase, env, t, wearer.brake_ms2)
    pos = np.stack([
        np.cumsum(dx) + (xf_s + brake) * np.cos(yaw),
        np.cumsum(dy) + (xf_s + brake) * np.sin(yaw),
        z_s + env * (-0.5 * wearer.vertical_m * np.cos(
            2 * ph - np.radians(wearer.vertical_phase_deg))) + strike_tr,
    ], axis=1)
    # toward the stance leg (left = +y)
    lat = env * 0.5 * wearer.lateral_m * np.sin(ph + np.radians(wearer.lateral_phase_deg))
    pos[:, 0] += -np.sin(yaw) * lat
    pos[:, 1] += np.cos(yaw) * lat

    # --- orientation, angular velocity, specific force --------------------------------------
    q = _qmul(_qmul(_axis_quat(heading, 2), _axis_quat(tilt, 1)), _axis_quat(roll, 0))
    if pose_out is not None:
        pose_out.update(t=t, pos=pos, q=q)
    f_pelvis, w_body, m = body_motion(pos, q, dt, mnt, misalign_deg)
    if wearer.wobble_deg:
        f_pelvis, w_body = _wobble(f_pelvis, w_body, phase, env, t, wearer)
    acc_s = f_pelvis @ m  # (M^T f)^T
    gyr_s = w_body @ m

    # --- the sensor's samples; truth at the same instants -----------------------------------
    ts, acc, gyr, nearest = sample_sensor(t, fi, acc_s, gyr_s, rate_hz, total, rng, sensor)

    def at(x: np.ndarray) -> np.ndarray:
        if x.ndim == 1:
            return np.interp(ts, t, x)
        return _interp(ts, t, x)

    q_out = q[nearest]
    up_pelvis = np.stack([-np.sin(tilt), np.sin(roll) * np.cos(tilt),
                          np.cos(roll) * np.cos(tilt)], axis=1)
    up_sensor = at(up_pelvis) @ m
    up_sensor /= np.linalg.norm(up_sensor, axis=1, keepdims=True)
    stance = np.where(env[nearest] < 0.5, "", np.where(
        np.sin(ph[nearest]) > 0.3, "left", np.where(np.sin(ph[nearest]) < -0.3, "right",
                                                    "double")))
    steps = _heel_strikes(phase, env, t, ts[-1])
    turn = np.degrees(np.gradient(yaw, dt))
    return Recording(ts, acc, gyr, np.degrees(at(roll)), np.degrees(at(tilt)),
                     act[nearest].astype(str), stance.astype(str), steps, labels, up_sensor,
                     q_out, at(turn))


def _wobble(f: np.ndarray, w: np.ndarray, phase: np.ndarray, env: np.ndarray, t: np.ndarray,
            wearer: Wearer) -> tuple[np.ndarray, np.ndarray]:
    """The belt clip's damped rotation after each heel strike, applied to the specific force
    and the angular velocity in the pelvis frame (the clip frame = pelvis rotated by the
    wobble angle about a fixed horizontal axis u: f_clip = W^T f, w_clip = W^T w + theta' u)."""
    dt = t[1] - t[0]
    half = np.floor(phase / np.pi)
    strikes = np.flatnonzero(np.diff(half) > 0) + 1
    span = int(6 * wearer.wobble_tau_s / dt)
    k = np.arange(span) * dt
    kernel = np.radians(wearer.wobble_deg) * np.exp(-k / wearer.wobble_tau_s) * np.sin(
        2 * np.pi * wearer.wobble_hz * k)
    theta = np.zeros(len(t))
    for i in strikes.tolist():
        if env[i] < 0.5:
            continue
        j = min(len(t), i + span)
        theta[i:j] += kernel[: j - i] * env[i]
    a = np.radians(wearer.wobble_axis_deg)
    u = np.array([np.cos(a), np.sin(a), 0.0])
    rate = np.gradient(theta, dt)

    def rotate_back(v: np.ndarray) -> np.ndarray:  # Rodrigues with -theta about u
        c, s_ = np.cos(-theta)[:, None], np.sin(-theta)[:, None]
        return v * c + np.cross(u, v) * s_ + np.outer(v @ u, u) * (1 - c)

    return rotate_back(f), rotate_back(w) + rate[:, None] * u


def _merge(labels: list[tuple[str, str, float, float]]) -> list[tuple[str, str, float, float]]:
    # segments with the same condition are one episode, also across a short stop (a few
    # seconds of standing between two walks do not end a hip drop)
    out: list[tuple[str, str, float, float]] = []
    for k, side, a, b in labels:
        if out and out[-1][0] == k and out[-1][1] == side and a - out[-1][3] <= MERGE_S:
            out[-1] = (k, side, out[-1][2], b)
        else:
            out.append((k, side, a, b))
    return out


def _quantise(x: np.ndarray, full_scale: float) -> np.ndarray:
    lsb = full_scale / 32768.0
    return np.clip(np.round(x / lsb), -32768, 32767) * lsb


def _heel_transients(phase: np.ndarray, env: np.ndarray, t: np.ndarray,
                     amp_ms2: float) -> np.ndarray:
    # a damped 12 Hz oscillation of the pelvis height after each strike (position level, so the
    # accelerometer sees its second derivative): amplitude amp_ms2 / (2 pi 12)^2 metres
    out = np.zeros_like(t)
    f, tau = 12.0, 0.04
    a_m = amp_ms2 / (2 * np.pi * f) ** 2
    half = np.floor(phase / np.pi)
    strikes = np.flatnonzero(np.diff(half) > 0) + 1
    dt = t[1] - t[0]
    span = int(5 * tau / dt)
    k = np.arange(span) * dt
    kernel = a_m * np.exp(-k / tau) * np.sin(2 * np.pi * f * k)
    for i in strikes.tolist():
        if env[i] < 0.5:
            continue
        j = min(len(t), i + span)
        out[i:j] -= kernel[: j - i] * env[i]
    return out


def _brake_transients(phase: np.ndarray, env: np.ndarray, t: np.ndarray,
                      amp_ms2: float) -> np.ndarray:
    """Forward displacement (m) whose second derivative is a damped 8 Hz cosine of amplitude
    ``amp_ms2`` starting at each heel strike: the forward acceleration peaks at the strike and
    falls steeply after it. Integrated twice with the velocity and position changes of each
    pulse removed again over the following step (no net change of speed or place)."""
    dt = t[1] - t[0]
    half = np.floor(phase / np.pi)
    strikes = np.flatnonzero(np.diff(half) > 0) + 1
    f, tau = 8.0, 0.05
    span = int(6 * tau / dt)
    k = np.arange(span) * dt
    acc = amp_ms2 * np.exp(-k / tau) * np.cos(2 * np.pi * f * k)
    vel = np.cumsum(acc) * dt
    pos = np.cumsum(vel - vel[-1] * np.linspace(0.0, 1.0, span)) * dt  # speed back to normal
    pos -= np.linspace(0.0, pos[-1], span)  # and back in place by the pulse's end
    out = np.zeros_like(t)
    for i in strikes.tolist():
        if env[i] < 0.5:
            continue
        j = min(len(t), i + span)
        out[i:j] += pos[: j - i] * env[i]
    return out


def _heel_strikes(phase: np.ndarray, env: np.ndarray, t: np.ndarray,
                  t_end: float) -> list[tuple[float, str]]:
    half = np.floor(phase / np.pi)
    idx = np.flatnonzero(np.diff(half) > 0) + 1
    out = []
    for i in idx:
        if env[i] < 0.5 or t[i] > t_end:
            continue
        out.append((float(t[i]), "left" if int(half[i]) % 2 == 0 else "right"))
    return out


__all__ = ["ACTIVITIES", "MOUNTS", "Mount", "Recording", "Segment", "SensorModel", "Wearer",
           "mount_matrix", "quat_to_matrix", "simulate"]
