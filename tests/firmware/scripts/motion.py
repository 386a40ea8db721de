# Deterministic test motions, importable by MicroPython and CPython alike (no numpy).
# A motion yields (gx, gy, gz, ax, ay, az, dt, ux, uy, uz): gyro and accelerometer in the
# sensor frame, and the true up vector in the sensor frame.
import math


def _qmul(a, b):
    return (a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
            a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
            a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
            a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0])


def _up(q):
    w, x, y, z = q
    return (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y))


def _to_sensor(q, v):
    # Earth-frame vector into the sensor frame: rotate by the conjugate of q (sensor -> Earth)
    w, x, y, z = q
    r = _qmul(_qmul((w, -x, -y, -z), (0.0, v[0], v[1], v[2])), q)
    return r[1], r[2], r[3]


def tumble(seconds, rate, q0=(1.0, 0.0, 0.0, 0.0), bias=(0.0, 0.0, 0.0), lin=1.0, jitter=0.0):
    """Smooth 3-axis rotation with oscillating linear acceleration; exact gyro integration."""
    q = q0
    n = int(seconds * rate)
    seed = 12345
    for i in range(n):
        dt = 1.0 / rate
        if jitter:
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            dt *= 1.0 + jitter * (seed / 0x7FFFFFFF - 0.5) * 2.0
        t = i / rate
        wx = 0.8 * math.sin(0.7 * t)
        wy = 0.6 * math.sin(1.1 * t + 1.0)
        wz = 0.5 * math.cos(0.5 * t)
        half = 0.5 * dt * math.sqrt(wx * wx + wy * wy + wz * wz)
        n_ = math.sqrt(wx * wx + wy * wy + wz * wz)
        s = math.sin(half) / n_
        q = _qmul(q, (math.cos(half), wx * s, wy * s, wz * s))
        u = _up(q)
        # specific force: gravity plus a walking-like linear acceleration (zero mean in the
        # Earth frame, as for any bounded motion), both seen from the sensor
        ax, ay, az = _to_sensor(q, (lin * 3.0 * math.sin(2 * math.pi * 1.8 * t),
                                    lin * 2.0 * math.sin(2 * math.pi * 0.9 * t + 0.3),
                                    9.81 + lin * 4.0 * math.sin(2 * math.pi * 1.8 * t + 1.2)))
        yield (wx + bias[0], wy + bias[1], wz + bias[2], ax, ay, az, dt, u[0], u[1], u[2])


def wire_sample(i):
    # values spanning the ranges, including ones beyond int16 (clamped) every 37th sample
    big = 1000.0 if i % 37 == 0 else 1.0
    return (i, (i % 200 - 100) * 0.123, (i % 50 - 25) * 0.071, 9.81 * big * 0.3, -2.5 + i * 0.01,
            9.81, 0.5 * big, -0.25, (i % 10) * 0.01)
