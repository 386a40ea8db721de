"""What every IMU driver gives the sample loop: preallocated buffers filled from the FIFO.

``drain()`` reads every complete sample waiting in the sensor's FIFO into ``ax..gz`` (SI: m/s^2
with gravity, rad/s, sensor frame) and returns how many; nothing is allocated per sample. The
time base is the sensor's own output data rate (``rate_hz``): sample k of the session is tick k.
``overruns`` counts FIFO overflows (samples lost inside the sensor, reported in the status).
"""

from array import array


class ImuError(OSError):
    pass


class FifoImu:
    MAX_BATCH = 64  # samples per drain; the loop drains every ~40 ms (4 at 104 Hz)
    FIFO_SAMPLES = 64  # samples the sensor's FIFO holds (each driver says its own)

    def __init__(self, i2c, address, rate_hz):
        self.i2c = i2c
        self.address = address
        self.rate_hz = rate_hz
        n = self.MAX_BATCH
        self.ax = array("f", bytes(4 * n))
        self.ay = array("f", bytes(4 * n))
        self.az = array("f", bytes(4 * n))
        self.gx = array("f", bytes(4 * n))
        self.gy = array("f", bytes(4 * n))
        self.gz = array("f", bytes(4 * n))
        self.overruns = 0
        self._one = bytearray(1)

    def _read(self, reg):
        self.i2c.readfrom_mem_into(self.address, reg, self._one)
        return self._one[0]

    def _write(self, reg, value):
        self._one[0] = value
        self.i2c.writeto_mem(self.address, reg, self._one)

    def _check_id(self, reg, accepted, name):
        try:
            got = self._read(reg)
        except OSError as exc:
            raise ImuError("no %s answers at I2C address 0x%02x (%s): check wiring and "
                           "power" % (name, self.address, exc))
        if got not in accepted:
            raise ImuError("device at 0x%02x says WHO_AM_I=0x%02x, not a %s (expected %s)"
                           % (self.address, got, name,
                              "/".join("0x%02x" % a for a in accepted)))
        return got
