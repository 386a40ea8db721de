"""Register models of the supported IMUs, for the fake I2C bus (tests only).

Each answers its real register map (WHO_AM_I, the configuration registers the driver must
set, FIFO status, FIFO data) and fills its FIFO from a motion source at its own output data
rate as simulated time passes (``clock.now_ms``). Until the driver has configured the output
rates and the FIFO mode, the FIFO stays empty, as on the chip; a FIFO left to fill past its
depth overflows, losing the oldest data and raising the overrun flag.
"""

import math

G = 9.80665


def _i16(v):
    v = int(round(v))
    return 32767 if v > 32767 else (-32768 if v < -32768 else v)


class _Model:
    def __init__(self, clock, source, odr_hz):
        self.clock = clock
        self.source = source  # callable k -> (ax, ay, az, gx, gy, gz) in SI, or None at the end
        self.odr = odr_hz
        self.produced = 0
        self.regs = bytearray(256)
        self.overflowed = 0

    def _samples(self):
        """The motion samples the sensor has measured since it was last asked: none reach
        the FIFO until the driver has configured it (they pass by, as on the chip)."""
        due = int(self.clock.now_ms * self.odr / 1000.0) - self.produced
        out = []
        for _ in range(max(due, 0)):
            s = self.source(self.produced)
            self.produced += 1
            if s is not None and self._configured():
                out.append(s)
        return out


class Lsm6dso(_Model):
    WHO = 0x6C
    DEPTH = 512  # words

    def __init__(self, clock, source):
        super().__init__(clock, source, 104.0)
        self.regs[0x0F] = self.WHO
        self.fifo = []

    def _configured(self):
        r = self.regs
        return (r[0x10] >> 4) == 4 and (r[0x11] >> 4) == 4 and r[0x09] == 0x44 and \
            (r[0x0A] & 0x07) == 0x06

    def _fill(self):
        acc_lsb = 0.488e-3 * G
        gyr_lsb = 70e-3 * math.pi / 180.0
        for s in self._samples():
            self.fifo.append((0x01, _i16(s[3] / gyr_lsb), _i16(s[4] / gyr_lsb),
                              _i16(s[5] / gyr_lsb)))
            self.fifo.append((0x02, _i16(s[0] / acc_lsb), _i16(s[1] / acc_lsb),
                              _i16(s[2] / acc_lsb)))
        if len(self.fifo) > self.DEPTH:
            self.overflowed += 1
            self.fifo = self.fifo[len(self.fifo) - self.DEPTH:]
            self.regs[0x3B] |= 0x40

    def read_into(self, reg, buf):
        if reg == 0x3A:
            self._fill()
            n = len(self.fifo)
            buf[0] = n & 0xFF
            if len(buf) > 1:
                buf[1] = ((n >> 8) & 0x03) | (self.regs[0x3B] & 0x40)
                self.regs[0x3B] &= ~0x40 & 0xFF  # cleared by reading
            return
        if reg == 0x78:
            if len(buf) != 7 or not self.fifo:
                raise OSError(5)  # EIO: reading an empty FIFO or a partial word
            tag, x, y, z = self.fifo.pop(0)
            buf[0] = tag << 3
            for i, v in enumerate((x, y, z)):
                v &= 0xFFFF
                buf[1 + 2 * i] = v & 0xFF
                buf[2 + 2 * i] = v >> 8
            return
        for i in range(len(buf)):
            buf[i] = self.regs[(reg + i) & 0xFF]

    def write(self, reg, data):
        if reg == 0x12 and data[0] & 0x01:  # SW_RESET
            self.regs[0x10] = self.regs[0x11] = self.regs[0x09] = self.regs[0x0A] = 0
            self.fifo = []
            return
        for i, b in enumerate(data):
            self.regs[(reg + i) & 0xFF] = b


class Mpu6050(_Model):
    WHO = 0x68
    DEPTH = 1024  # bytes

    def __init__(self, clock, source):
        super().__init__(clock, source, 100.0)
        self.regs[0x75] = self.WHO
        self.regs[0x6B] = 0x40  # asleep after power-on
        self.fifo = bytearray()

    def _configured(self):
        r = self.regs
        return (r[0x6B] & 0x40) == 0 and r[0x19] == 9 and (r[0x1A] & 7) in (1, 2, 3, 4, 5, 6) \
            and (r[0x6A] & 0x40) and r[0x23] == 0x78

    def _fill(self):
        acc_lsb = G / 2048.0
        gyr_lsb = math.pi / 180.0 / 16.4
        for s in self._samples():
            for v in (s[0] / acc_lsb, s[1] / acc_lsb, s[2] / acc_lsb, s[3] / gyr_lsb,
                      s[4] / gyr_lsb, s[5] / gyr_lsb):
                v = _i16(v) & 0xFFFF
                self.fifo.append(v >> 8)
                self.fifo.append(v & 0xFF)
        if len(self.fifo) > self.DEPTH:
            self.overflowed += 1
            self.regs[0x3A] |= 0x10
            self.fifo = self.fifo[len(self.fifo) - self.DEPTH:]  # misaligned, as on the chip

    def read_into(self, reg, buf):
        if reg == 0x3A:
            self._fill()
            buf[0] = self.regs[0x3A]
            self.regs[0x3A] = 0
            return
        if reg == 0x72:
            self._fill()
            n = len(self.fifo)
            buf[0] = n >> 8
            if len(buf) > 1:
                buf[1] = n & 0xFF
            return
        if reg == 0x74:
            if len(buf) > len(self.fifo):
                raise OSError(5)
            for i in range(len(buf)):
                buf[i] = self.fifo[i]
            self.fifo = self.fifo[len(buf):]
            return
        for i in range(len(buf)):
            buf[i] = self.regs[(reg + i) & 0xFF]

    def write(self, reg, data):
        for i, b in enumerate(data):
            self.regs[(reg + i) & 0xFF] = b
        if reg == 0x6A and data[0] & 0x04:  # FIFO_RESET (self-clearing)
            self.fifo = bytearray()
            self.regs[0x6A] &= ~0x04 & 0xFF
