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
        self.wdt_feeds = 0
        self.wdt_timeout = None


SIM = _Sim()


class Pin:
    IN = 0
    OUT = 1

    def __init__(self, pin, mode=None):
        self.pin = pin


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
