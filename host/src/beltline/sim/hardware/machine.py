"""Fake ``machine`` for running the belt unit's firmware under MicroPython's unix port.

Never deployed. ``SIM`` is the test harness's handle on the simulated board: the I2C devices
(register models in ``imu_models``), the battery voltage, the motor's duty and the watchdog.
The bus behaves like the real one: a missing device raises ``OSError(ENODEV)``.
"""


class _Sim:
    def __init__(self):
        self.devices = {}
        self.battery_volts = 3.9
        self.pulses = 0  # times the motor was switched on
        self.pulse_ms = []  # simulated time of each switch-on (the first 64)
        self.wdt_feeds = 0
        self.wdt_timeout = None
        self.wdt_fed_ms = 0  # simulated time of the last feed (the harness checks it)
        self.pins = {}  # pin number -> level an input reads (buttons: 1 released, pull-up)
        self.clock = None  # the harness's simulated clock (now_ms)
        self.freq = 240_000_000


SIM = _Sim()


def freq(hz=None):
    if hz is None:
        return SIM.freq
    SIM.freq = hz
    return None


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, pin, mode=None, pull=None):
        self.pin = pin
        self.pull = pull

    def value(self, v=None):
        if v is None:
            return SIM.pins.get(self.pin, 1 if self.pull == Pin.PULL_UP else 0)
        SIM.pins[self.pin] = 1 if v else 0
        return None


class I2C:
    def __init__(self, bus=0, sda=None, scl=None, freq=400000):
        self.devices = SIM.devices

    def scan(self):
        return sorted(self.devices)

    def _dev(self, addr):
        dev = self.devices.get(addr)
        if dev is None:
            raise OSError(19)  # ENODEV, as the ESP32 port reports a NACK
        return dev

    def readfrom_mem_into(self, addr, reg, buf):
        self._dev(addr).read_into(reg, buf)

    def readfrom_mem(self, addr, reg, n):
        buf = bytearray(n)
        self._dev(addr).read_into(reg, buf)
        return bytes(buf)

    def writeto_mem(self, addr, reg, buf):
        self._dev(addr).write(reg, bytes(buf))


class PWM:
    def __init__(self, pin, freq=1000):
        self.freq = freq
        self.duty = 0

    def duty_u16(self, d=None):
        if d is None:
            return self.duty
        if d and not self.duty:
            SIM.pulses += 1
            if SIM.clock is not None and len(SIM.pulse_ms) < 64:
                SIM.pulse_ms.append(SIM.clock.now_ms)
        self.duty = d


class ADC:
    def __init__(self, pin):
        self.pin = pin

    def read_u16(self):
        return min(65535, int(SIM.battery_volts / 6.6 * 65535))


class WDT:
    def __init__(self, id=0, timeout=5000):
        SIM.wdt_timeout = timeout

    def feed(self):
        SIM.wdt_feeds += 1
        if SIM.clock is not None:
            SIM.wdt_fed_ms = SIM.clock.now_ms
