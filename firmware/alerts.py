"""On-device alerts: the host's sustained-episode rules in a compact form for the buzzer.

Hip drop: the pelvis rolls one way in left stance and the other in right stance, so each
half-cycle of roll (between sign changes of roll minus its slow mean) is one stance; its peak
beyond ``drop_deg`` counts for that side. An alert needs ``need`` of the last ``window``
stances of one side (the host's 12 of 16 by default), and clears at ``clear`` or fewer.
Anterior tilt: tilt above ``tilt_deg`` for ``dwell_s`` (1-s means, the same hysteresis).
Only fixed-size state: no allocation per sample.
"""


class Alerts:
    def __init__(self, rate_hz, drop_deg=6.5, tilt_deg=5.0, dwell_s=12.0):
        self.rate_hz = rate_hz
        self.set_thresholds(drop_deg, tilt_deg, dwell_s)
        self.window = 16
        self.need = 12
        self.clear = 4
        self.bits = [0, 0]  # recent stances per side, as bit history (left, right)
        self.hip = [False, False]
        self.reset()

    def reset(self):
        """Forget the evidence: the angles changed meaning (a new mount or new thresholds),
        so what was gathered before is not evidence any more. The slow mean restarts at the
        next sample."""
        self.mean = 0.0
        self._fresh = True
        self.sign = 0
        self.peak = 0.0
        self.bits[0] = self.bits[1] = 0
        self.hip[0] = self.hip[1] = False
        self.tilt_sum = 0.0
        self.tilt_n = 0
        self.tilt_bits = 0
        self.tilt = False

    def set_thresholds(self, drop_deg, tilt_deg, dwell_s):
        self.drop_deg = drop_deg
        self.tilt_deg = tilt_deg
        self.dwell = max(2, int(dwell_s))

    def update(self, roll, pitch):
        """One sample (degrees). Returns True while any alert is active."""
        if self._fresh:
            self.mean = roll
            self._fresh = False
        self.mean += (roll - self.mean) * (0.5 / self.rate_hz)  # ~2 s time constant
        r = roll - self.mean
        s = 1 if r > 0.0 else -1
        if s != self.sign:
            if self.sign != 0:
                side = 0 if self.sign > 0 else 1  # + roll (right lower) = left stance
                hit = 1 if self.peak > self.drop_deg else 0
                b = ((self.bits[side] << 1) | hit) & ((1 << self.window) - 1)
                self.bits[side] = b
                n = _popcount(b)
                if n >= self.need:
                    self.hip[side] = True
                elif n <= self.clear:
                    self.hip[side] = False
            self.sign = s
            self.peak = 0.0
        a = roll if s > 0 else -roll
        if a > self.peak:
            self.peak = a
        self.tilt_sum += pitch
        self.tilt_n += 1
        if self.tilt_n >= self.rate_hz:
            hit = 1 if self.tilt_sum / self.tilt_n > self.tilt_deg else 0
            d = self.dwell
            self.tilt_bits = ((self.tilt_bits << 1) | hit) & ((1 << d) - 1)
            n = _popcount(self.tilt_bits)
            if n >= d - d // 5:
                self.tilt = True
            elif n <= d // 4:
                self.tilt = False
            self.tilt_sum = 0.0
            self.tilt_n = 0
        return self.hip[0] or self.hip[1] or self.tilt


def _popcount(x):
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n
