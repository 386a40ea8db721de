"""Attitude filter: where is "up" for the belt unit, from a 6-axis IMU.

Runs unchanged on the ESP32 (MicroPython, single-precision boxed floats) and on CPython.

Algorithm (implemented from the paper, not from any code): the 6-D part of
D. Laidig and T. Seel, "VQF: Highly accurate IMU orientation estimation with bias estimation
and magnetic disturbance rejection", Information Fusion 91 (2023) 187-204,
doi:10.1016/j.inffus.2022.10.014.

1. Strapdown: the bias-corrected gyro is integrated into ``q_g`` (sensor -> a quasi-inertial
   frame I that drifts only through gyro error), at every sample.
2. The accelerometer is rotated into I and low-pass filtered there (2nd-order Butterworth,
   time constant ``tau_acc_s``). Linear accelerations of walking integrate to bounded velocity
   changes in I, so they average out, while gravity stays put: this is what makes the filter
   robust to heel strikes and fast shaking.
3. An inclination-only correction ``q_a`` (I -> Earth, about a horizontal axis) turns the filtered
   acceleration onto vertical.
4. Gyro bias (rad/s, sensor frame) is estimated by a small Kalman filter: during motion from the
   corrections step 3 has to make (seen through the same low-pass filter), during detected rest
   directly from the low-passed gyro.

Rates (the point of this layout is the ESP32's boxed floats: every float operation allocates,
so work is done only as often as the paper's time constants need it). Steps 1 and the rotation
of step 2 run at every sample; the accelerometer in I is summed over a window of
``rate_hz / correct_rate_hz`` samples (8 at 100 Hz) and the low-pass, the correction (3) and the
rest detector run once per window. That is exact for what the correction sees: the low-pass cut-off
(sqrt(2) / (2 pi tau_acc_s) = 0.075 Hz) is 80 times below the window rate of 12.5 Hz, and the
window mean nulls exactly the frequencies (multiples of 12.5 Hz) that would fold onto it. Between
corrections the output holds the correction: on the BROAD trials the held direction moves by a
median 0.008 deg per window (99th percentile 0.2 deg, in 10-g shaking). The bias estimator (4),
whose time constants are tens of seconds, runs every ``correct_rate_hz / bias_rate_hz`` windows
(3 at 100 Hz: 4.2 Hz), on the rotation matrix sampled at that rate. Measured on all 8 BROAD
trials (``beltline bench fusion``): mean error 0.652 deg, as with every step at every sample.

Beltline's own additions: a running-mean start so the first samples initialise the attitude, a
gap rule (a pause in the data longer than ``gap_s`` restarts the attitude from the next samples
but keeps the learnt bias), a saturation rule (an accelerometer sample with any axis beyond
``acc_max_ms2`` is not used for correction: the IMU clips per axis and a clipped sample has lost
its true value), and a cheaper rest detector (first-order low-pass of each window's mean, the
deviation taken from the window's extremes, so that no sample's deviation goes unseen).

Units: rad/s, m/s^2 (gravity included: a resting sensor reads +9.81 on its up axis), seconds.
Contract: ``Attitude(rate_hz)``; ``update(gx, gy, gz, ax, ay, az, dt)``; ``up()`` -> unit vector
pointing away from the Earth, in the sensor frame (a new tuple); ``up_into(out)`` writes the
same three numbers into a preallocated list or ``array('f')`` (the sample loop's way: nothing
allocated but the three floats); ``reset()``.

Cost: measured by ``beltline bench fusion`` (heap blocks and time per update under the real
``micropython`` binary, against a Madgwick update in the same process) and bounded by
``tests/firmware/test_fusion.py``. In the per-sample path no tuple is built (a 4-tuple
assignment would build one), state lives in attributes and preallocated lists, the window
extremes cost comparisons only, and the quaternions are renormalised only at the bias steps
(their products drift by rounding alone). The per-sample, window and bias steps are compiled
to machine code (``@micropython.native``): a bytecode function with this many locals has its
frame allocated and freed on the heap at every call (slower the larger the heap), and native
code ran ``update`` ~3x and the steps a further ~25 % faster, for ~13 kB more code.
"""

import math

try:
    import micropython
except ImportError:  # CPython (the host): MicroPython's code emitters do not exist there

    class micropython:  # noqa: N801 -- stands in for the module of that name
        @staticmethod
        def native(f):
            return f


_DEG = math.pi / 180.0
_BIG = 1e30  # start value of the window extremes


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
    - ``acc_max_ms2`` (150.0, just under 16 g): an accelerometer sample with an axis beyond
      +-this is treated as saturated and not used (set it just under the IMU's full scale).
    - ``correct_rate_hz`` (12.5): rate of the low-pass, correction and rest detection steps
      (rounded to a whole number of samples per window).
    - ``bias_rate_hz`` (4.0): rate of the bias estimator (rounded to whole windows; the
      corrections in between are summed into its measurement).
    - ``motion_bias_enabled``, ``rest_bias_enabled`` (True): switch the bias estimators.

    Diagnostics (read-only attributes): ``bias`` (list, rad/s), ``rest`` (bool), ``gaps``,
    ``skipped_acc`` (saturated samples not used), ``bad_dt`` (samples with dt <= 0, ignored).
    """

    def __init__(self, rate_hz, tau_acc_s=3.0, bias_sigma_init_dps=0.5, bias_forget_s=100.0,
                 bias_clip_dps=2.0, bias_sigma_motion_dps=0.1, bias_vertical_factor=1e-4,
                 bias_sigma_rest_dps=0.03, rest_min_s=1.5, rest_tau_s=0.5, rest_gyr_dps=2.0,
                 rest_acc_ms2=0.5, gap_s=0.5, acc_max_ms2=150.0, correct_rate_hz=12.5,
                 bias_rate_hz=4.0, motion_bias_enabled=True, rest_bias_enabled=True):
        if not rate_hz > 0:
            raise ValueError("rate_hz must be > 0, got %r" % (rate_hz,))
        if not tau_acc_s > 0:
            raise ValueError("tau_acc_s must be > 0, got %r" % (tau_acc_s,))
        if not (correct_rate_hz > 0 and bias_rate_hz > 0):
            raise ValueError("correct_rate_hz and bias_rate_hz must be > 0, got %r, %r"
                             % (correct_rate_hz, bias_rate_hz))
        dt = 1.0 / rate_hz
        self.rate_hz = rate_hz
        self._dt = dt
        self._mc = mc = max(1, int(rate_hz / correct_rate_hz + 0.5))  # samples per window
        self._mb = mb = max(1, int(rate_hz / mc / bias_rate_hz + 0.5))  # windows per bias step
        dtw = dt * mc
        dtb = dtw * mb
        self._dtb = dtb
        self._c2dt = 2.0 / dtb  # summed half-angle corrections -> rad/s
        b0, _b1, _b2, a1, a2 = butter2(tau_acc_s, dtw)
        # the low-pass is fed the window's SUM: 1/mc folded into b0 (b1 = 2 b0, b2 = b0)
        self._lpc = b0 / mc
        self._inv_mc = 1.0 / mc
        self._coef = (b0, a1, a2)
        self._init_n = max(1, int(tau_acc_s / dt + 0.5))  # samples of running-mean start
        self._coef_b = butter2(tau_acc_s, dtb)
        self._init_nb = max(1, int(tau_acc_s / dtb + 0.5))
        self._gap = max(gap_s, 5.0 * dt)
        self._acc_hi = acc_max_ms2
        self._acc_lo = -acc_max_ms2
        self._clip = bias_clip_dps * _DEG
        self._nclip = -self._clip
        self.motion_bias_enabled = motion_bias_enabled
        self.rest_bias_enabled = rest_bias_enabled
        # Kalman noise terms (rad/s)^2. V: random walk per step; W: measurement noise chosen so
        # that the steady-state uncertainty under continuous updates is sigma^2 (as in the paper).
        self._p0 = (bias_sigma_init_dps * _DEG) ** 2
        self._v = (0.1 * _DEG) ** 2 * dtb / bias_forget_s
        pm = (bias_sigma_motion_dps * _DEG) ** 2
        self._w_motion = pm * pm / self._v + pm
        self._w_vert = self._w_motion / max(bias_vertical_factor, 1e-10)
        pr = (bias_sigma_rest_dps * _DEG) ** 2
        self._w_rest = pr * pr / self._v + pr
        self._rest_min_n = max(1, int(rest_min_s / dt + 0.5))
        self._rest_k = 1.0 - math.exp(-dtw / rest_tau_s)
        self._rest_gyr2 = (rest_gyr_dps * _DEG) ** 2
        self._rest_acc2 = rest_acc_ms2 * rest_acc_ms2
        self.bias = [0.0, 0.0, 0.0]
        self._p = [0.0] * 9  # bias covariance, row-major 3x3
        self._s = [0.0] * 6  # low-pass states of a_I, 2 per axis (direct form II transposed)
        self._lpy = [0.0] * 3  # low-passed a_I (during start-up: running mean)
        # Low-pass of the rotation matrix R sensor->Earth (0-8) and of the first two rows of
        # R*bias (9-10) at the bias rate: outputs, and 2 states each.
        self._rlp = [0.0] * 11
        self._rls = [0.0] * 22
        self._h = [0.0] * 11  # scratch: R (row-major) and the first two rows of R*bias
        self._rest_lp = [0.0] * 6
        self._tmp = [0.0] * 3  # scratch for up()
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
        self._dtl = -1.0
        self._hdt = 0.0
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
        # up in I (= what q_a turns onto vertical), and twice that: up() rotates it by q_g*
        self._ux = self._uy = 0.0
        self._uz = 1.0
        self._u2x = self._u2y = 0.0
        self._u2z = 2.0
        self._n = 0  # valid accelerometer samples since (re)start, for the running-mean start
        self._nb = 0  # bias steps since (re)start
        self._k = 0  # samples in the current window
        self._wn = 1  # window length: the first sample alone initialises the attitude
        self._kb = 0  # windows since the last bias step
        self._ccx = self._ccy = 0.0  # correction half-angles summed since the last bias step
        for i in range(6):
            self._s[i] = 0.0
            self._rest_lp[i] = 0.0
        for i in range(3):
            self._lpy[i] = 0.0
        for i in range(11):
            self._rlp[i] = 0.0
        for i in range(22):
            self._rls[i] = 0.0
        self._window_reset()
        self._rest_n = 0
        self._rest_init = True
        self.rest = False
        self._fresh = True

    @micropython.native
    def _window_reset(self):
        self._kv = 0  # usable accelerometer samples in the window
        self._sx = self._sy = self._sz = 0.0  # their sum, sensor frame
        self._rx = self._ry = self._rz = 0.0  # and the rotation part of their sum in I
        self._wsx = self._wsy = self._wsz = 0.0  # gyro sum (all samples)
        b = _BIG
        self._g0h = self._g1h = self._g2h = self._a0h = self._a1h = self._a2h = -b
        self._g0l = self._g1l = self._g2l = self._a0l = self._a1l = self._a2l = b

    def up(self):
        """Unit vector pointing up (away from the Earth), in the sensor frame."""
        t = self._tmp
        self.up_into(t)
        return (t[0], t[1], t[2])

    @micropython.native
    def up_into(self, out):
        """Write ``up()`` into ``out[0:3]`` (a list or ``array('f')``); allocates no container."""
        # up in I rotated into the sensor frame by q_g*: v' = v - 2w(u x v) + 2u x (u x v),
        # with t = u x 2v
        w = self._gw
        x = self._gx
        y = self._gy
        z = self._gz
        vx = self._u2x
        vy = self._u2y
        vz = self._u2z
        tx = y * vz - z * vy
        ty = z * vx - x * vz
        tz = x * vy - y * vx
        out[0] = self._ux + (y * tz - z * ty - w * tx)
        out[1] = self._uy + (z * tx - x * tz - w * ty)
        out[2] = self._uz + (x * ty - y * tx - w * tz)

    def quaternion(self):
        """Sensor-to-Earth orientation (w, x, y, z); heading is arbitrary (6-D fusion)."""
        aw, ax, ay, az = self._aw, self._ax, self._ay, self._az
        gw, gx, gy, gz = self._gw, self._gx, self._gy, self._gz
        return (aw * gw - ax * gx - ay * gy - az * gz,
                aw * gx + ax * gw + ay * gz - az * gy,
                aw * gy - ax * gz + ay * gw + az * gx,
                aw * gz + ax * gy - ay * gx + az * gw)

    @micropython.native
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
        if dt != self._dtl:  # a comparison allocates nothing; the product is cached
            self._dtl = dt
            self._hdt = 0.5 * dt
        # the window's extremes, for the rest detector: comparisons only, no float made
        if gx > self._g0h:
            self._g0h = gx
        if gx < self._g0l:
            self._g0l = gx
        if gy > self._g1h:
            self._g1h = gy
        if gy < self._g1l:
            self._g1l = gy
        if gz > self._g2h:
            self._g2h = gz
        if gz < self._g2l:
            self._g2l = gz
        if ax > self._a0h:
            self._a0h = ax
        if ax < self._a0l:
            self._a0l = ax
        if ay > self._a1h:
            self._a1h = ay
        if ay < self._a1l:
            self._a1l = ay
        if az > self._a2h:
            self._a2h = az
        if az < self._a2l:
            self._a2l = az
        self._wsx += gx
        self._wsy += gy
        self._wsz += gz
        # 1. strapdown integration: q_g <- q_g * exp(w dt / 2)
        b = self.bias
        wx = gx - b[0]
        wy = gy - b[1]
        wz = gz - b[2]
        w = self._gw
        x = self._gx
        y = self._gy
        z = self._gz
        n2 = wx * wx + wy * wy + wz * wz
        if n2 > 1e-20:
            n = math.sqrt(n2)
            half = n * self._hdt
            c = math.cos(half)
            s = math.sin(half) / n
            wx *= s
            wy *= s
            wz *= s
            w1 = w * c - x * wx - y * wy - z * wz
            x1 = w * wx + x * c + y * wz - z * wy
            y1 = w * wy - x * wz + y * c + z * wx
            z = w * wz + x * wy - y * wx + z * c
            w = w1
            x = x1
            y = y1
            self._gw = w
            self._gx = x
            self._gy = y
            self._gz = z
        # 2. accelerometer into I, summed over the window: v' = v + 2(w t + u x t), t = u x v
        lo = self._acc_lo
        hi = self._acc_hi
        if lo < ax < hi and lo < ay < hi and lo < az < hi and (ax or ay or az):
            tx = y * az - z * ay
            ty = z * ax - x * az
            tz = x * ay - y * ax
            self._rx += w * tx + y * tz - z * ty
            self._ry += w * ty + z * tx - x * tz
            self._rz += w * tz + x * ty - y * tx
            self._sx += ax
            self._sy += ay
            self._sz += az
            self._kv += 1
        else:  # saturated, absent or NaN: not used
            self.skipped_acc += 1
        k = self._k + 1
        if k < self._wn:
            self._k = k
            return
        self._k = 0
        self._wn = self._mc
        self._rest_step(k)
        self._correct()
        self._window_reset()
        kb = self._kb + 1
        if kb < self._mb:
            self._kb = kb
            return
        self._kb = 0
        self._bias_step()

    @micropython.native
    def _rest_step(self, k):
        # first-order low-pass of each window's mean; the largest deviation of any sample of
        # the window from it (known from the window's extremes) against the thresholds
        r = self._rest_lp
        f = self._inv_mc if k == self._mc else 1.0 / k
        m0 = self._wsx * f
        m1 = self._wsy * f
        m2 = self._wsz * f
        kv = self._kv
        if kv == k:
            m3 = self._sx * f
            m4 = self._sy * f
            m5 = self._sz * f
        else:  # an unusable accelerometer sample: not rest; keep the low-pass where it is
            m3 = r[3]
            m4 = r[4]
            m5 = r[5]
        if self._rest_init:
            self._rest_init = False
            r[0] = m0
            r[1] = m1
            r[2] = m2
            r[3] = m3
            r[4] = m4
            r[5] = m5
        else:
            c = self._rest_k
            r[0] += c * (m0 - r[0])
            r[1] += c * (m1 - r[1])
            r[2] += c * (m2 - r[2])
            if kv == k:
                r[3] += c * (m3 - r[3])
                r[4] += c * (m4 - r[4])
                r[5] += c * (m5 - r[5])
        moving = kv != k
        if not moving:
            v = r[0]
            d0 = self._g0h - v
            e = v - self._g0l
            if e > d0:
                d0 = e
            v = r[1]
            d1 = self._g1h - v
            e = v - self._g1l
            if e > d1:
                d1 = e
            v = r[2]
            d2 = self._g2h - v
            e = v - self._g2l
            if e > d2:
                d2 = e
            moving = d0 * d0 + d1 * d1 + d2 * d2 >= self._rest_gyr2
        if not moving:
            v = r[3]
            d0 = self._a0h - v
            e = v - self._a0l
            if e > d0:
                d0 = e
            v = r[4]
            d1 = self._a1h - v
            e = v - self._a1l
            if e > d1:
                d1 = e
            v = r[5]
            d2 = self._a2h - v
            e = v - self._a2l
            if e > d2:
                d2 = e
            hi = self._clip
            lo = self._nclip
            moving = (d0 * d0 + d1 * d1 + d2 * d2 >= self._rest_acc2
                      or not (lo <= r[0] <= hi and lo <= r[1] <= hi and lo <= r[2] <= hi))
        if moving:
            self._rest_n = 0
            self.rest = False
        else:
            self._rest_n += k
            if self._rest_n >= self._rest_min_n:
                self.rest = True

    @micropython.native
    def _correct(self):
        kv = self._kv
        if not kv:
            return  # nothing usable in this window: the correction stands
        lpy = self._lpy
        # the window's accelerometer sum in I
        ix = self._sx + 2.0 * self._rx
        iy = self._sy + 2.0 * self._ry
        iz = self._sz + 2.0 * self._rz
        n = self._n + kv
        self._n = n
        init_n = self._init_n
        settled = n - kv >= init_n
        if not settled:
            # running mean of all samples for the first tau seconds: a fast, unbiased start
            f = 1.0 / n
            lpy[0] += (ix - kv * lpy[0]) * f
            lpy[1] += (iy - kv * lpy[1]) * f
            lpy[2] += (iz - kv * lpy[2]) * f
            if n >= init_n:  # put the low-pass in steady state at that mean
                b0, a1, a2 = self._coef
                s = self._s
                for i in range(3):
                    m = lpy[i]
                    s[2 * i] = m - b0 * m
                    s[2 * i + 1] = (b0 - a2) * m
        else:
            c = self._lpc if kv == self._mc else self._coef[0] / kv
            _b0, a1, a2 = self._coef
            s = self._s
            xi = ix * c
            y = xi + s[0]
            s[0] = 2.0 * xi - a1 * y + s[1]
            s[1] = xi - a2 * y
            lpy[0] = y
            xi = iy * c
            y = xi + s[2]
            s[2] = 2.0 * xi - a1 * y + s[3]
            s[3] = xi - a2 * y
            lpy[1] = y
            xi = iz * c
            y = xi + s[4]
            s[4] = 2.0 * xi - a1 * y + s[5]
            s[5] = xi - a2 * y
            lpy[2] = y
        # 3. inclination correction: rotate q_a(LP(a_I)) onto +z
        w = self._aw
        x = self._ax
        y = self._ay
        z = self._az
        vx = lpy[0]
        vy = lpy[1]
        vz = lpy[2]
        tx = y * vz - z * vy
        ty = z * vx - x * vz
        tz = x * vy - y * vx
        ex = vx + 2.0 * (w * tx + y * tz - z * ty)
        ey = vy + 2.0 * (w * ty + z * tx - x * tz)
        ez = vz + 2.0 * (w * tz + x * ty - y * tx)
        nn = ex * ex + ey * ey + ez * ez
        if nn < 1e-18:
            return
        nn = math.sqrt(nn)
        # the shortest turn taking e to +z: (nn + ez, ey, -ex, 0) / sqrt(2 nn (nn + ez))
        t = nn + ez
        if t > 1e-9 * nn:
            f = 1.0 / math.sqrt(2.0 * nn * t)
            cw = t * f
            cx = ey * f
            cy = ex * f  # the turn's y component is -cy
        else:  # exactly upside down: half a revolution about x
            cw = 0.0
            cx = 1.0
            cy = 0.0
        # q_a <- c q_a with c = (cw, cx, -cy, 0): the turn is made in the Earth frame
        self._aw = cw * w - cx * x + cy * y
        self._ax = cw * x + cx * w - cy * z
        self._ay = cw * y - cx * z - cy * w
        self._az = cw * z + cx * y + cy * x
        # up in I is now the direction of LP(a_I)
        f = 1.0 / nn
        self._ux = vx * f
        self._uy = vy * f
        self._uz = vz * f
        f = 2.0 * f
        self._u2x = vx * f
        self._u2y = vy * f
        self._u2z = vz * f
        # for the bias estimator: the corrections of the settled filter, not the start's
        if settled:
            self._ccx += cx
            self._ccy += cy

    @micropython.native
    def _bias_step(self):
        # renormalise both quaternions (their products drift by rounding only)
        w = self._gw
        x = self._gx
        y = self._gy
        z = self._gz
        f = 1.0 / math.sqrt(w * w + x * x + y * y + z * z)
        gw = w * f
        gx = x * f
        gy = y * f
        gz = z * f
        self._gw = gw
        self._gx = gx
        self._gy = gy
        self._gz = gz
        w = self._aw
        x = self._ax
        y = self._ay
        z = self._az
        f = 1.0 / math.sqrt(w * w + x * x + y * y + z * z)
        aw = w * f
        ax = x * f
        ay = y * f
        az = z * f
        self._aw = aw
        self._ax = ax
        self._ay = ay
        self._az = az
        cx = self._ccx
        cy = self._ccy
        self._ccx = self._ccy = 0.0
        self._nb += 1
        motion = self.motion_bias_enabled
        if motion:
            # q = q_a q_g (sensor -> Earth), as a rotation matrix in h
            w = aw * gw - ax * gx - ay * gy - az * gz
            x = aw * gx + ax * gw + ay * gz - az * gy
            y = aw * gy - ax * gz + ay * gw + az * gx
            z = aw * gz + ax * gy - ay * gx + az * gw
            self._track_r(w, x, y, z)
        if self.rest and self.rest_bias_enabled:
            self._bias_rest()
        elif motion and self._n > self._init_n:
            self._bias_motion(cx, cy)
        else:
            self._bias_predict()

    @micropython.native
    def _track_r(self, w, x, y, z):
        # Low-pass R (sensor -> Earth) and R*bias through the same filter as the accelerometer,
        # so that the motion-bias measurement model sees the same delay (paper, sec. 3.4).
        xx = x * x
        yy = y * y
        zz = z * z
        xy = x * y
        xz = x * z
        yz = y * z
        wx = w * x
        wy = w * y
        wz = w * z
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
        b0 = b[0]
        b1 = b[1]
        b2 = b[2]
        h[9] = h[0] * b0 + h[1] * b1 + h[2] * b2
        h[10] = h[3] * b0 + h[4] * b1 + h[5] * b2
        ry = self._rlp
        s = self._rls
        n = self._nb
        if n <= self._init_nb:  # running mean first, as for the accelerometer
            f = 1.0 / n
            for i in range(11):
                ry[i] += (h[i] - ry[i]) * f
            if n == self._init_nb:  # steady state at that mean
                c0, _c1, _c2, _a1, a2 = self._coef_b
                for i in range(11):
                    m = ry[i]
                    s[2 * i] = m - c0 * m
                    s[2 * i + 1] = (c0 - a2) * m
        else:  # direct form II transposed, b1 = 2 b0, b2 = b0
            c0, _c1, _c2, a1, a2 = self._coef_b
            for i in range(11):
                j = 2 * i
                v = c0 * h[i]
                out = v + s[j]
                s[j] = 2.0 * v - a1 * out + s[j + 1]
                s[j + 1] = v - a2 * out
                ry[i] = out

    @micropython.native
    def _bias_predict(self):
        p = self._p
        if p[0] < self._p0:
            v = self._v
            p[0] += v
            p[4] += v
            p[8] += v

    @micropython.native
    def _bias_rest(self):
        # at rest the low-passed gyro measures the bias directly (H = I)
        self._bias_predict()
        r = self._rest_lp
        w = self._w_rest
        self._kalman_axis(0, r[0], w)
        self._kalman_axis(1, r[1], w)
        self._kalman_axis(2, r[2], w)

    @micropython.native
    def _bias_motion(self, cx, cy):
        # The correction rate the accelerometer demanded, added to LP(R*b), measures
        # LP(R)*b_true in the two horizontal Earth axes; the vertical axis is unobservable and
        # only weakly pulled to zero (paper, sec. 3.4). cx, cy: summed half-angles of the turns
        # about Earth x and -y.
        self._bias_predict()
        r = self._rlp
        k = self._c2dt
        w = self._w_motion
        self._kalman_row(r[0], r[1], r[2], r[9] - cx * k, w)
        self._kalman_row(r[3], r[4], r[5], r[10] + cy * k, w)
        self._kalman_row(r[6], r[7], r[8], 0.0, self._w_vert)

    # The Kalman measurement update, one measurement row at a time: with independent
    # measurement noises (W diagonal, as here) this is the same estimate as the joint 3x3
    # update (e.g. Simon, "Optimal State Estimation", 2006, sec. 3.4) at well under half the
    # float operations: no 3x3 inverse. Each innovation is clipped to +-bias_clip.

    @micropython.native
    def _kalman_row(self, h0, h1, h2, z, w):
        # b += P h (z - h.b) / s, P -= (P h)(P h)' / s, s = h'P h + w
        p = self._p
        b = self.bias
        p0 = p[0]
        p1 = p[1]
        p2 = p[2]
        p4 = p[4]
        p5 = p[5]
        p8 = p[8]
        m0 = p0 * h0 + p1 * h1 + p2 * h2
        m1 = p1 * h0 + p4 * h1 + p5 * h2
        m2 = p2 * h0 + p5 * h1 + p8 * h2
        s = h0 * m0 + h1 * m1 + h2 * m2 + w
        if not s > 0.0:
            return
        e = z - (h0 * b[0] + h1 * b[1] + h2 * b[2])
        self._gain(m0, m1, m2, e, s)
        g = 1.0 / s
        k = m0 * g
        p[0] = p0 - k * m0
        p[1] = p[3] = p1 - k * m1
        p[2] = p[6] = p2 - k * m2
        k = m1 * g
        p[4] = p4 - k * m1
        p[5] = p[7] = p5 - k * m2
        p[8] = p8 - m2 * g * m2

    @micropython.native
    def _kalman_axis(self, j, z, w):
        # _kalman_row for h = the j-th unit vector: P h is P's j-th column
        p = self._p
        m0 = p[j]
        m1 = p[3 + j]
        m2 = p[6 + j]
        s = p[4 * j] + w
        if not s > 0.0:
            return
        self._gain(m0, m1, m2, z - self.bias[j], s)
        g = 1.0 / s
        k = m0 * g
        p[0] -= k * m0
        p[1] = p[3] = p[1] - k * m1
        p[2] = p[6] = p[2] - k * m2
        k = m1 * g
        p[4] -= k * m1
        p[5] = p[7] = p[5] - k * m2
        p[8] -= m2 * g * m2

    @micropython.native
    def _gain(self, m0, m1, m2, e, s):
        # b += P h e / s, innovation and estimate clipped to +-bias_clip
        hi = self._clip
        lo = self._nclip
        e = hi if e > hi else lo if e < lo else e
        f = e / s
        b = self.bias
        v = b[0] + m0 * f
        b[0] = hi if v > hi else lo if v < lo else v
        v = b[1] + m1 * f
        b[1] = hi if v > hi else lo if v < lo else v
        v = b[2] + m2 * f
        b[2] = hi if v > hi else lo if v < lo else v
