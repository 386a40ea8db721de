"""The belt unit's pins and the small pieces of hardware besides the IMU (hardware/BOM.md).

Battery: the LiPo through a 1:2 divider on an ADC pin (12-bit, 3.3 V full scale after the
divider's halving: 0-6.6 V). Haptics: a coin vibration motor driven by a logic-level N-MOSFET
on a PWM pin (with a flyback diode). Everything takes its pins as arguments, so tests pass fakes.
"""

# Seeed XIAO ESP32S3 pin numbers (GPIO), see hardware/BOM.md
PIN_SDA = 5
PIN_SCL = 6
PIN_MOTOR = 2
PIN_BATTERY = 1
PIN_BUTTON = 0  # the XIAO's BOOT button (to ground): a press opens the pairing window

# LiPo open-circuit voltage -> state of charge (typical 1-cell curve)
_CURVE = ((3.30, 0), (3.60, 5), (3.70, 20), (3.75, 35), (3.80, 50), (3.87, 65), (3.95, 80),
          (4.05, 90), (4.20, 100))


def battery_percent(volts):
    if volts <= _CURVE[0][0]:
        return 0
    for (v0, p0), (v1, p1) in zip(_CURVE, _CURVE[1:]):
        if volts <= v1:
            return int(p0 + (p1 - p0) * (volts - v0) / (v1 - v0))
    return 100


class Battery:
    def __init__(self, adc):
        self.adc = adc

    def volts(self):
        return self.adc.read_u16() * (6.6 / 65535.0)

    def percent(self):
        return battery_percent(self.volts())


class Motor:
    """Buzz patterns without blocking: ``tick(ms)`` is called by the app's alert task."""

    def __init__(self, pwm):
        self.pwm = pwm
        self.pwm.duty_u16(0)
        self.on_ms = 0
        self.pulses = 0

    def pattern(self, pulses):
        self.pulses = pulses

    def tick(self, period_ms):
        if self.pulses and self.on_ms == 0:
            self.pwm.duty_u16(45000)
            self.on_ms = 200
            self.pulses -= 1
        elif self.on_ms:
            self.on_ms = max(0, self.on_ms - period_ms)
            if self.on_ms == 0:
                self.pwm.duty_u16(0)
