"""Attitude filter: where is "up" for the belt unit, from a 6-axis IMU.

Runs unchanged on the ESP32 (MicroPython, single-precision boxed floats) and on CPython.

Algorithm (implemented from the paper, not from any code): the 6-D part of
D. Laidig and T. Seel, "VQF: Highly accurate IMU orientation estimation with bias estimation
and magnetic disturbance rejection", Information Fusion 91 (2023) 187-204,
doi:10.1016/j.inffus.2022.10.014.

1. Strapdown: the bias-corrected gyro is integrated into ``q_g`` (sensor -> a quasi-inertial
   frame I that drifts only through gyro error).
2. The accelerometer is rotated into I and low-pass filtered there (2nd-order Butterworth,
   time constant ``tau_acc_s``). Linear accelerations of walking integrate to bounded velocity
   changes in I, so they average out, while gravity stays put: this is what makes the filter
   robust to heel strikes and fast shaking.
3. An inclination-only correction ``q_a`` (I -> Earth, about a horizontal axis) turns the filtered
   acceleration onto vertical at every sample.
4. Gyro bias (rad/s, sensor frame) is estimated by a small Kalman filter: during motion from the
   corrections step 3 has to make (seen through the same low-pass filter), during detected rest
   directly from the low-passed gyro.

Beltline's own additions: a running-mean start so the first samples initialise the attitude, a
gap rule (a pause in the data longer than ``gap_s`` restarts the attitude from the next samples
but keeps the learnt bias), a saturation rule (accelerometer samples whose magnitude exceeds
``acc_max_ms2`` are not used for correction: a clipped sample has lost its true value), and
first-order filters in the rest detector (cheaper on the ESP32 than the paper's Butterworth).

Units: rad/s, m/s^2 (gravity included: a resting sensor reads +9.81 on its up axis), seconds.
Contract: ``Attitude(rate_hz)``; ``update(gx, gy, gz, ax, ay, az, dt)``; ``up()`` -> unit vector
pointing away from the Earth, in the sensor frame; ``reset()``.

Cost: floats are boxed on the ESP32, so every float operation allocates. The per-sample path
keeps state in attributes and preallocated lists (no lists or tuples created per sample); the
allocation count per update is measured by ``tests/firmware/test_fusion_mpy.py`` and reported
by ``beltline bench fusion``.
"""

import math

_DEG = math.pi / 180.0


def butter2(tau_s, dt_s):
    """Coefficients (b0, b1, b2, a1, a2) of a 2nd-order Butterworth low-pass.

    Cut-off f_c = sqrt(2) / (2 pi tau_s), as defined in the VQF paper, so that ``tau_s`` acts as
    the filter's time constant; bilinear transform with pre-warping at sample time ``dt_s``.
    """
    fc = math.sqrt(2.0) / (2.0 * math.pi * tau_s)
    k = math.tan(math.pi * fc * dt_s)
    q = math.sqrt(2.0)  # 1/Q of a Butterworth pair
    norm = 1.0 / (1.0 + k * q + k * k)
    b0 = k * k * norm
    return (b0, 2.0 * b0, b0, 2.0 * (k * k - 1.0) * norm, (1.0 - k * q + k * k) * norm)


class Attitude:
    """Gravity direction from gyro + accelerometer, with on-line gyro-bias estimation.

    Settings (keyword arguments, each with its unit; defaults are the paper's, which it tuned
    on the BROAD dataset):

    - ``tau_acc_s`` (3.0): accelerometer low-pass time constant. Larger trusts the gyro longer.
    - ``bias_sigma_init_dps`` (0.5): standard deviation of the initial bias, deg/s.
    - ``bias_forget_s`` (100.0): time for the bias uncertainty to grow by (0.1 deg/s)^2.
    - ``bias_clip_dps`` (2.0): the bias estimate and each innovation are clipped to this.
    - ``bias_sigma_motion_dps`` (0.1): steady-state bias uncertainty from motion updates.
    - ``bias_vertical_factor`` (1e-4): how weakly the unobservable vertical bias is pulled to 0.
    - ``bias_sigma_rest_dps`` (0.03): steady-state bias uncertainty from rest updates.
    - ``rest_min_s`` (1.5), ``rest_tau_s`` (0.5), ``rest_gyr_dps`` (2.0), ``rest_acc_ms2`` (0.5):
      rest is declared after ``rest_min_s`` with gyro and accelerometer within these thresholds
      of their low-passed values.
    - ``gap_s`` (0.5, at least 5 sample times): a ``dt`` longer than this restarts the attitude.
    - ``acc_max_ms2`` (150.0, just under 16 g): accelerometer magnitudes above are treated as
      saturated and not used (set it just under the IMU's full scale).
    - ``bias_rate_hz`` (25.0): rate of the bias estimator (the corrections in between are
      averaged into its measurement).
    - ``motion_bias_enabled``, ``rest_bias_enabled`` (True): switch the bias estimators.

    Diagnostics (read-only attributes): ``bias`` (list, rad/s), ``rest`` (bool), ``gaps``,
    ``skipped_acc`` (saturated samples not used), ``bad_dt`` (samples with dt <= 0, ignored).
    """

    def __init__(self, rate_hz, tau_acc_s=3.0, bias_sigma_init_dps=0.5, bias_forget_s=100.0,
                 bias_clip_dps=2.0, bias_sigma_motion_dps=0.1, bias_vertical_factor=1e-4,
                 bias_sigma_rest_dps=0.03, rest_min_s=1.5, rest_tau_s=0.5, rest_gyr_dps=2.0,
                 rest_acc_ms2=0.5, gap_s=0.5, acc_max_ms2=150.0, bias_rate_hz=25.0,
                 motion_bias_enabled=True, rest_bias_enabled=True):
        if not rate_hz > 0:
            raise ValueError("rate_hz must be > 0, got %r" % (rate_hz,))
        if not tau_acc_s > 0:
            raise ValueError("tau_acc_s must be > 0, got %r" % (tau_acc_s,))
        dt = 1.0 / rate_hz
        self.rate_hz = rate_hz
        self._dt = dt
        self._tau = tau_acc_s
        self._coef = butter2(tau_acc_s, dt)
        self._init_n = max(1, int(tau_acc_s / dt + 0.5))
        # The bias changes over minutes: estimate it at about bias_rate_hz, every _m samples,
        # which saves most of the per-sample float work (and heap churn) on the ESP32.
        self._m = max(1, int(rate_hz / bias_rate_hz + 0.5))
        dtb = dt * self._m
        self._dtb = dtb
        self._coef_b = butter2(tau_acc_s, dtb)
        self._init_nb = max(1, int(tau_acc_s / dtb + 0.5))
        self._gap = max(gap_s, 5.0 * dt)
        self._acc_max2 = acc_max_ms2 * acc_max_ms2
        self._clip = bias_clip_dps * _DEG
        self.motion_bias_enabled = motion_bias_enabled
        self.rest_bias_enabled = rest_bias_enabled
        # Kalman noise terms (rad/s)^2. V: random walk per sample; W: measurement noise chosen so
        # that the steady-state uncertainty under continuous updates is sigma^2 (as in the paper).
        self._p0 = (bias_sigma_init_dps * _DEG) ** 2
        self._v = (0.1 * _DEG) ** 2 * dtb / bias_forget_s
        pm = (bias_sigma_motion_dps * _DEG) ** 2
        self._w_motion = pm * pm / self._v + pm
        self._w_vert = self._w_motion / max(bias_vertical_factor, 1e-10)
        pr = (bias_sigma_rest_dps * _DEG) ** 2
        self._w_rest = pr * pr / self._v + pr
        self._rest_min = rest_min_s
        self._rest_k = 1.0 - math.exp(-dt / rest_tau_s)
        self._rest_gyr2 = (rest_gyr_dps * _DEG) ** 2
        self._rest_acc2 = rest_acc_ms2 * rest_acc_ms2
        self.bias = [0.0, 0.0, 0.0]
        self._p = [0.0] * 9  # bias covariance, row-major 3x3
        # Low-pass channels, 2 states each (direct form II transposed): a_I (0-2), the rotation
        # matrix R sensor->Earth (3-11) and the first two rows of R*bias (12-13).
        self._lp = [0.0] * 28
        self._lpy = [0.0] * 14  # last low-pass outputs (during start-up: running sums)
        self._h = [0.0] * 9  # scratch: measurement matrix
        self._e = [0.0] * 3  # scratch: innovation
        self._rest_lp = [0.0] * 6
        self.gaps = 0
        self.skipped_acc = 0
        self.bad_dt = 0
        self.reset()

    def reset(self):
        """Forget everything, including the learnt gyro bias."""
        self.bias[0] = self.bias[1] = self.bias[2] = 0.0
        p = self._p
        for i in range(9):
            p[i] = 0.0
        p[0] = p[4] = p[8] = self._p0
        self._restart()
        self.gaps = 0
        self.skipped_acc = 0
        self.bad_dt = 0

    def _restart(self):
        # Attitude unknown again (start, or after a gap); the bias estimate is kept.
        self._gw = 1.0
        self._gx = self._gy = self._gz = 0.0
        self._aw = 1.0
        self._ax = self._ay = self._az = 0.0
        self._n = 0  # samples seen since (re)start, for the running-mean start-up
        self._nb = 0  # bias steps since (re)start
        self._k = 0  # samples since the last bias step
        self._cx = self._cy = 0.0  # corrections (rad) summed since the last bias step
        for i in range(28):
            self._lp[i] = 0.0
        for i in range(14):
            self._lpy[i] = 0.0
        for i in range(6):
            self._rest_lp[i] = 0.0
        self._rest_t = 0.0
        self._rest_init = True
        self.rest = False
        self._fresh = True

    def up(self):
        """Unit vector pointing up (away from the Earth), in the sensor frame."""
        w, x, y, z = self._quat()
        return (2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y))

    def quaternion(self):
        """Sensor-to-Earth orientation (w, x, y, z); heading is arbitrary (6-D fusion)."""
        return self._quat()

    def _quat(self):
        aw, ax, ay, az = self._aw, self._ax, self._ay, self._az
        gw, gx, gy, gz = self._gw, self._gx, self._gy, self._gz
        return (aw * gw - ax * gx - ay * gy - az * gz,
                aw * gx + ax * gw + ay * gz - az * gy,
                aw * gy - ax * gz + ay * gw + az * gx,
                aw * gz + ax * gy - ay * gx + az * gw)

    def update(self, gx, gy, gz, ax, ay, az, dt):
        """One IMU sample: gyro rad/s, accelerometer m/s^2, ``dt`` seconds since the last one."""
        if not dt > 0.0:  # also catches NaN
            self.bad_dt += 1
            return
        if self._fresh:
            self._fresh = False
        elif dt > self._gap:
            self.gaps += 1
            self._restart()
            self._fresh = False
        b = self.bias
        wx = gx - b[0]
        wy = gy - b[1]
        wz = gz - b[2]
        self._rest_detect(gx, gy, gz, ax, ay, az, dt)
        # 1. strapdown integration: q_g <- q_g * exp(w dt / 2)
        n2 = wx * wx + wy * wy + wz * wz
        if n2 > 1e-20:
            n = math.sqrt(n2)
            half = 0.5 * n * dt
            c = math.cos(half)
            s = math.sin(half) / n
            wx *= s
            wy *= s
            wz *= s
            w0, x0, y0, z0 = self._gw, self._gx, self._gy, self._gz
            w1 = w0 * c - x0 * wx - y0 * wy - z0 * wz
            x1 = w0 * wx + x0 * c + y0 * wz - z0 * wy
            y1 = w0 * wy - x0 * wz + y0 * c + z0 * wx
            z1 = w0 * wz + x0 * wy - y0 * wx + z0 * c
            k = 1.0 / math.sqrt(w1 * w1 + x1 * x1 + y1 * y1 + z1 * z1)
            self._gw = w1 * k
            self._gx = x1 * k
            self._gy = y1 * k
            self._gz = z1 * k
        a2 = ax * ax + ay * ay + az * az
        if a2 > self._acc_max2 or a2 < 1e-6 or a2 != a2:
            # saturated, absent or NaN: the filter's own estimate stands in for this sample
            self.skipped_acc += 1
            if self._n:
                self._correct(0.0, 0.0, 0.0, True)
            return
        self._correct(ax, ay, az, False)

    def _rest_detect(self, gx, gy, gz, ax, ay, az, dt):
        r = self._rest_lp
        if self._rest_init:
            self._rest_init = False
            r[0] = gx
            r[1] = gy
            r[2] = gz
            r[3] = ax
            r[4] = ay
            r[5] = az
        k = self._rest_k
        r[0] += k * (gx - r[0])
        r[1] += k * (gy - r[1])
        r[2] += k * (gz - r[2])
        r[3] += k * (ax - r[3])
        r[4] += k * (ay - r[4])
        r[5] += k * (az - r[5])
        dg = (gx - r[0]) ** 2 + (gy - r[1]) ** 2 + (gz - r[2]) ** 2
        da = (ax - r[3]) ** 2 + (ay - r[4]) ** 2 + (az - r[5]) ** 2
        clip = self._clip
        if (dg >= self._rest_gyr2 or da >= self._rest_acc2 or abs(r[0]) > clip
                or abs(r[1]) > clip or abs(r[2]) > clip):
            self._rest_t = 0.0
            self.rest = False
        else:
            self._rest_t += dt
            if self._rest_t >= self._rest_min:
                self.rest = True

    def _correct(self, ax, ay, az, hold):
        lpy = self._lpy
        if hold:
            ix, iy, iz = lpy[0], lpy[1], lpy[2]
        else:
            # 2. accelerometer into I: v' = v + 2w (u x v) + 2 u x (u x v), u = vector of q_g
            # (written out here and in step 3, not a helper: a call would box a result tuple)
            w, x, y, z = self._gw, self._gx, self._gy, self._gz
            tx = 2.0 * (y * az - z * ay)
            ty = 2.0 * (z * ax - x * az)
            tz = 2.0 * (x * ay - y * ax)
            ix = ax + w * tx + y * tz - z * ty
            iy = ay + w * ty + z * tx - x * tz
            iz = az + w * tz + x * ty - y * tx
        self._n += 1
        n = self._n
        start = n <= self._init_n
        if start:
            # running mean for the first tau seconds: a fast, unbiased start
            lpy[0] += (ix - lpy[0]) / n
            lpy[1] += (iy - lpy[1]) / n
            lpy[2] += (iz - lpy[2]) / n
            if n == self._init_n:
                self._settle(0, 3, self._coef)
        else:
            b0, b1, b2, a1, a2 = self._coef
            s = self._lp
            y = b0 * ix + s[0]
            s[0] = b1 * ix - a1 * y + s[1]
            s[1] = b2 * ix - a2 * y
            lpy[0] = y
            y = b0 * iy + s[2]
            s[2] = b1 * iy - a1 * y + s[3]
            s[3] = b2 * iy - a2 * y
            lpy[1] = y
            y = b0 * iz + s[4]
            s[4] = b1 * iz - a1 * y + s[5]
            s[5] = b2 * iz - a2 * y
            lpy[2] = y
        # 3. inclination correction: rotate q_a(LP(a_I)) onto +z
        w, x, y, z = self._aw, self._ax, self._ay, self._az
        vx, vy, vz = lpy[0], lpy[1], lpy[2]
        tx = 2.0 * (y * vz - z * vy)
        ty = 2.0 * (z * vx - x * vz)
        tz = 2.0 * (x * vy - y * vx)
        ex = vx + w * tx + y * tz - z * ty
        ey = vy + w * ty + z * tx - x * tz
        ez = vz + w * tz + x * ty - y * tx
        nn = math.sqrt(ex * ex + ey * ey + ez * ez)
        if nn < 1e-9:
            return
        ex /= nn
        ey /= nn
        ez /= nn
        cw = 0.5 * (ez + 1.0)
        if cw > 1e-12:
            cw = math.sqrt(cw)
            cx = 0.5 * ey / cw
            cy = -0.5 * ex / cw
        else:  # exactly upside down: turn half a revolution about x
            cw, cx, cy = 0.0, 1.0, 0.0
        w1 = cw * w - cx * x - cy * y
        x1 = cw * x + cx * w - cy * z
        y1 = cw * y + cx * z + cy * w
        z1 = cw * z + cx * y - cy * x
        k = 1.0 / math.sqrt(w1 * w1 + x1 * x1 + y1 * y1 + z1 * z1)
        self._aw = w1 * k
        self._ax = x1 * k
        self._ay = y1 * k
        self._az = z1 * k
        # 4. bias, every _m samples
        self._cx += ex
        self._cy += ey
        self._k += 1
        if self._k < self._m:
            return
        self._k = 0
        cx = self._cx
        cy = self._cy
        self._cx = self._cy = 0.0
        self._nb += 1
        motion = self.motion_bias_enabled
        if motion:
            self._track_r()
        if self.rest and self.rest_bias_enabled:
            self._bias_rest()
        elif motion:
            self._bias_motion(cx, cy)
        else:
            self._bias_predict()

    def _lowpass(self, i, x):
        b0, b1, b2, a1, a2 = self._coef_b
        s = self._lp
        j = 2 * i
        y = b0 * x + s[j]
        s[j] = b1 * x - a1 * y + s[j + 1]
        s[j + 1] = b2 * x - a2 * y
        self._lpy[i] = y
        return y

    def _settle(self, first, stop, coef):
        # put channels [first, stop) in steady state at their current (running-mean) output
        b0 = coef[0]
        b2 = coef[2]
        a2 = coef[4]
        for i in range(first, stop):
            m = self._lpy[i]
            self._lp[2 * i] = m - b0 * m
            self._lp[2 * i + 1] = (b2 - a2) * m

    def _bias_predict(self):
        p = self._p
        if p[0] < self._p0:
            v = self._v
            p[0] += v
            p[4] += v
            p[8] += v

    def _bias_rest(self):
        self._bias_predict()
        r = self._rest_lp
        b = self.bias
        e = self._e
        e[0] = r[0] - b[0]
        e[1] = r[1] - b[1]
        e[2] = r[2] - b[2]
        h = self._h
        for i in range(9):
            h[i] = 0.0
        h[0] = h[4] = h[8] = 1.0
        self._kalman(self._w_rest, self._w_rest, self._w_rest)

    def _track_r(self):
        # Low-pass R (sensor -> Earth) and R*bias through the same filter as the accelerometer,
        # so that the motion-bias measurement model sees the same delay (paper, sec. 3.4).
        w, x, y, z = self._quat()
        xx, yy, zz = x * x, y * y, z * z
        xy, xz, yz = x * y, x * z, y * z
        wx, wy, wz = w * x, w * y, w * z
        h = self._h
        h[0] = 1.0 - 2.0 * (yy + zz)
        h[1] = 2.0 * (xy - wz)
        h[2] = 2.0 * (xz + wy)
        h[3] = 2.0 * (xy + wz)
        h[4] = 1.0 - 2.0 * (xx + zz)
        h[5] = 2.0 * (yz - wx)
        h[6] = 2.0 * (xz - wy)
        h[7] = 2.0 * (yz + wx)
        h[8] = 1.0 - 2.0 * (xx + yy)
        b = self.bias
        b0, b1, b2 = b[0], b[1], b[2]
        rb0 = h[0] * b0 + h[1] * b1 + h[2] * b2
        rb1 = h[3] * b0 + h[4] * b1 + h[5] * b2
        lpy = self._lpy
        n = self._nb
        if n <= self._init_nb:
            for i in range(9):
                lpy[3 + i] += (h[i] - lpy[3 + i]) / n
            lpy[12] += (rb0 - lpy[12]) / n
            lpy[13] += (rb1 - lpy[13]) / n
            if n == self._init_nb:
                self._settle(3, 14, self._coef_b)
        else:
            for i in range(9):
                self._lowpass(3 + i, h[i])
            self._lowpass(12, rb0)
            self._lowpass(13, rb1)

    def _bias_motion(self, cx, cy):
        # The correction rate the accelerometer demanded, added to LP(R*b), measures
        # LP(R)*b_true in the two horizontal Earth axes; the vertical axis is unobservable and
        # only weakly pulled to zero (paper, sec. 3.4).
        lpy = self._lpy
        h = self._h
        for i in range(9):
            h[i] = lpy[3 + i]
        self._bias_predict()
        b = self.bias
        b0, b1, b2 = b[0], b[1], b[2]
        dt = self._dtb
        e = self._e
        e[0] = -cy / dt + lpy[12] - h[0] * b0 - h[1] * b1 - h[2] * b2
        e[1] = cx / dt + lpy[13] - h[3] * b0 - h[4] * b1 - h[5] * b2
        e[2] = -h[6] * b0 - h[7] * b1 - h[8] * b2
        self._kalman(self._w_motion, self._w_motion, self._w_vert)

    def _kalman(self, w0, w1, w2):
        # b += K e, K = P H' (H P H' + W)^-1, P -= K H P; P symmetric, H in self._h
        p = self._p
        h = self._h
        e = self._e
        clip = self._clip
        for i in range(3):
            if e[i] > clip:
                e[i] = clip
            elif e[i] < -clip:
                e[i] = -clip
        # HP (3x3), stored in a local list-free way: rows of H times P
        h0, h1, h2, h3, h4, h5, h6, h7, h8 = h
        p0, p1, p2, p4, p5, p8 = p[0], p[1], p[2], p[4], p[5], p[8]
        m0 = h0 * p0 + h1 * p1 + h2 * p2
        m1 = h0 * p1 + h1 * p4 + h2 * p5
        m2 = h0 * p2 + h1 * p5 + h2 * p8
        m3 = h3 * p0 + h4 * p1 + h5 * p2
        m4 = h3 * p1 + h4 * p4 + h5 * p5
        m5 = h3 * p2 + h4 * p5 + h5 * p8
        m6 = h6 * p0 + h7 * p1 + h8 * p2
        m7 = h6 * p1 + h7 * p4 + h8 * p5
        m8 = h6 * p2 + h7 * p5 + h8 * p8
        # S = HP H' + W (symmetric)
        s0 = m0 * h0 + m1 * h1 + m2 * h2 + w0
        s1 = m0 * h3 + m1 * h4 + m2 * h5
        s2 = m0 * h6 + m1 * h7 + m2 * h8
        s4 = m3 * h3 + m4 * h4 + m5 * h5 + w1
        s5 = m3 * h6 + m4 * h7 + m5 * h8
        s8 = m6 * h6 + m7 * h7 + m8 * h8 + w2
        # S^-1 by cofactors
        c0 = s4 * s8 - s5 * s5
        c1 = s2 * s5 - s1 * s8
        c2 = s1 * s5 - s2 * s4
        det = s0 * c0 + s1 * c1 + s2 * c2
        if not det > 0.0:
            return
        c4 = s0 * s8 - s2 * s2
        c5 = s1 * s2 - s0 * s5
        c8 = s0 * s4 - s1 * s1
        c0 /= det
        c1 /= det
        c2 /= det
        c4 /= det
        c5 /= det
        c8 /= det
        # K = (HP)' S^-1  (3x3)
        k0 = m0 * c0 + m3 * c1 + m6 * c2
        k1 = m0 * c1 + m3 * c4 + m6 * c5
        k2 = m0 * c2 + m3 * c5 + m6 * c8
        k3 = m1 * c0 + m4 * c1 + m7 * c2
        k4 = m1 * c1 + m4 * c4 + m7 * c5
        k5 = m1 * c2 + m4 * c5 + m7 * c8
        k6 = m2 * c0 + m5 * c1 + m8 * c2
        k7 = m2 * c1 + m5 * c4 + m8 * c5
        k8 = m2 * c2 + m5 * c5 + m8 * c8
        e0, e1, e2 = e[0], e[1], e[2]
        b = self.bias
        b[0] += k0 * e0 + k1 * e1 + k2 * e2
        b[1] += k3 * e0 + k4 * e1 + k5 * e2
        b[2] += k6 * e0 + k7 * e1 + k8 * e2
        for i in range(3):
            if b[i] > clip:
                b[i] = clip
            elif b[i] < -clip:
                b[i] = -clip
        # P -= K (HP); keep it symmetric by computing the upper triangle only
        p[0] = p0 - (k0 * m0 + k1 * m3 + k2 * m6)
        p[1] = p[3] = p1 - (k0 * m1 + k1 * m4 + k2 * m7)
        p[2] = p[6] = p2 - (k0 * m2 + k1 * m5 + k2 * m8)
        p[4] = p4 - (k3 * m1 + k4 * m4 + k5 * m7)
        p[5] = p[7] = p5 - (k3 * m2 + k4 * m5 + k5 * m8)
        p[8] = p8 - (k6 * m2 + k7 * m5 + k8 * m8)
