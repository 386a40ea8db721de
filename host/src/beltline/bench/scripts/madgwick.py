# Madgwick's IMU orientation filter: the cost reference for the firmware's filter (never shipped
# to the belt unit). Implemented from the equations of
#   S. O. H. Madgwick, "An efficient orientation filter for inertial and inertial/magnetic sensor
#   arrays", report, University of Bristol, 2010, and
#   S. O. H. Madgwick, A. J. L. Harrison, R. Vaidyanathan, "Estimation of IMU and MARG
#   orientation using a gradient descent algorithm", IEEE ICORR 2011, doi:10.1109/ICORR.2011.5975346
# written the plain way one would write it for MicroPython (floats in locals and attributes, no
# containers per update), neither slowed down nor hand-tuned: the report counts 109 scalar
# operations per IMU update.
#
# Per update, with q = (q0, q1, q2, q3) the sensor -> Earth orientation:
#   q_dot_w = 1/2 q (x) (0, w)                                  gyro rate of change
#   f = [2(q1 q3 - q0 q2) - ax, 2(q0 q1 + q2 q3) - ay, 2(1/2 - q1^2 - q2^2) - az]  (a unit)
#   J = [[-2 q2, 2 q3, -2 q0, 2 q1], [2 q1, 2 q0, 2 q3, 2 q2], [0, -4 q1, -4 q2, 0]]
#   grad = J^T f;  q_dot = q_dot_w - beta grad / |grad|;  q <- normalise(q + q_dot dt)
# beta (rad/s) = sqrt(3/4) times the gyro's error; it sets accuracy only, not cost.
# Runs unchanged under MicroPython and CPython.
import math


class Madgwick:
    def __init__(self, beta=0.1):
        self.beta = beta
        self.q0 = 1.0
        self.q1 = 0.0
        self.q2 = 0.0
        self.q3 = 0.0

    def update(self, gx, gy, gz, ax, ay, az, dt):
        q0 = self.q0
        q1 = self.q1
        q2 = self.q2
        q3 = self.q3
        # rate of change of the quaternion from the gyroscope
        d0 = 0.5 * (-q1 * gx - q2 * gy - q3 * gz)
        d1 = 0.5 * (q0 * gx + q2 * gz - q3 * gy)
        d2 = 0.5 * (q0 * gy - q1 * gz + q3 * gx)
        d3 = 0.5 * (q0 * gz + q1 * gy - q2 * gx)
        n = ax * ax + ay * ay + az * az
        if n > 0.0:
            n = 1.0 / math.sqrt(n)
            ax *= n
            ay *= n
            az *= n
            # objective function and its gradient J^T f
            f0 = 2.0 * (q1 * q3 - q0 * q2) - ax
            f1 = 2.0 * (q0 * q1 + q2 * q3) - ay
            f2 = 2.0 * (0.5 - q1 * q1 - q2 * q2) - az
            s0 = -2.0 * q2 * f0 + 2.0 * q1 * f1
            s1 = 2.0 * q3 * f0 + 2.0 * q0 * f1 - 4.0 * q1 * f2
            s2 = -2.0 * q0 * f0 + 2.0 * q3 * f1 - 4.0 * q2 * f2
            s3 = 2.0 * q1 * f0 + 2.0 * q2 * f1
            n = s0 * s0 + s1 * s1 + s2 * s2 + s3 * s3
            if n > 0.0:
                n = self.beta / math.sqrt(n)
                d0 -= n * s0
                d1 -= n * s1
                d2 -= n * s2
                d3 -= n * s3
        q0 += d0 * dt
        q1 += d1 * dt
        q2 += d2 * dt
        q3 += d3 * dt
        n = 1.0 / math.sqrt(q0 * q0 + q1 * q1 + q2 * q2 + q3 * q3)
        self.q0 = q0 * n
        self.q1 = q1 * n
        self.q2 = q2 * n
        self.q3 = q3 * n

    def up(self):
        q0 = self.q0
        q1 = self.q1
        q2 = self.q2
        q3 = self.q3
        return (2.0 * (q1 * q3 - q0 * q2), 2.0 * (q2 * q3 + q0 * q1),
                1.0 - 2.0 * (q1 * q1 + q2 * q2))
