"""LSM6DSO / LSM6DSOX (ST) 6-axis IMU over I2C, read through its FIFO.

Set-up: ±16 g and ±2000 dps full scale (walking and bumps stay far inside), both at the 104 Hz
output data rate, both batched into the 9 kB FIFO (up to 512 tagged words, ~2.4 s of data at
104 Hz for both sensors) in continuous mode. ``drain()`` reads the FIFO word count, then every
7-byte word (tag + X/Y/Z) into one preallocated buffer, pairing the gyroscope and the
accelerometer word of each time slot.

Self-test is not run by the firmware (it needs the unit at rest for a few seconds and changes
the ranges): on the bench, from the REPL, follow the datasheet's procedure (DS12140, "Self-test
procedure"): ±4 g / ±2000 dps at 52 Hz, average five samples, set CTRL5_C ST_XL=01 and
ST_G=01, wait 100 ms, average five more; the change must lie within 90-1700 mg (accelerometer)
and 150-700 dps (gyroscope).
"""

from micropython import const

from imu_base import FifoImu

_FIFO_CTRL3 = const(0x09)
_FIFO_CTRL4 = const(0x0A)
_CTRL1_XL = const(0x10)
_CTRL2_G = const(0x11)
_CTRL3_C = const(0x12)
_WHO_AM_I = const(0x0F)
_FIFO_STATUS1 = const(0x3A)
_FIFO_DATA_OUT_TAG = const(0x78)
_IDS = (0x6C,)  # LSM6DSO and LSM6DSOX
_ODR_104 = const(0x40)  # ODR field 0100 in bits 7:4
_FS_XL_16G = const(0x04)  # FS_XL = 01 (+-16 g) in bits 3:2
_FS_G_2000 = const(0x0C)  # FS_G = 11 (+-2000 dps) in bits 3:2
_BDR_104 = const(0x44)  # gyro and accel batch rate 104 Hz
_FIFO_CONTINUOUS = const(0x06)
_BDU_IF_INC = const(0x44)
_SW_RESET = const(0x01)
_TAG_GYRO = const(0x01)
_TAG_ACC = const(0x02)
_ACC_LSB = 0.488e-3 * 9.80665  # m/s^2 per count at +-16 g
_GYR_LSB = 70e-3 * 3.141592653589793 / 180.0  # rad/s per count at +-2000 dps

RATE_HZ = 104.0
ADDRESS = 0x6A  # SDO/SA0 low; 0x6B when high


class LSM6DSO(FifoImu):
    FIFO_SAMPLES = 256  # 512 tagged words, one gyroscope and one accelerometer word a sample
    def __init__(self, i2c, address=ADDRESS):
        super().__init__(i2c, address, RATE_HZ)
        self.chip = self._check_id(_WHO_AM_I, _IDS, "LSM6DSO")
        self._word = bytearray(7)
        self._status = bytearray(2)
        self._pending = 0  # bit 0: accelerometer word held, bit 1: gyroscope word held
        self._ax = self._ay = self._az = 0
        self._gx = self._gy = self._gz = 0
        self.start()

    def start(self):
        self._write(_CTRL3_C, _SW_RESET)
        self._write(_CTRL3_C, _BDU_IF_INC)
        self._write(_CTRL1_XL, _ODR_104 | _FS_XL_16G)
        self._write(_CTRL2_G, _ODR_104 | _FS_G_2000)
        self._write(_FIFO_CTRL3, _BDR_104)
        self._write(_FIFO_CTRL4, _FIFO_CONTINUOUS)

    def drain(self):
        st = self._status
        self.i2c.readfrom_mem_into(self.address, _FIFO_STATUS1, st)
        words = st[0] | ((st[1] & 0x03) << 8)
        if st[1] & 0x40:  # FIFO_OVR_IA: the sensor dropped data
            self.overruns += 1
        n = 0
        w = self._word
        cap = self.MAX_BATCH
        while words and n < cap:
            self.i2c.readfrom_mem_into(self.address, _FIFO_DATA_OUT_TAG, w)
            words -= 1
            tag = w[0] >> 3
            x = w[1] | (w[2] << 8)
            y = w[3] | (w[4] << 8)
            z = w[5] | (w[6] << 8)
            if x > 32767:
                x -= 65536
            if y > 32767:
                y -= 65536
            if z > 32767:
                z -= 65536
            # the two words of one time slot come in either order: pair them when both are in
            if tag == _TAG_ACC:
                self._ax, self._ay, self._az = x, y, z
                self._pending |= 1
            elif tag == _TAG_GYRO:
                self._gx, self._gy, self._gz = x, y, z
                self._pending |= 2
            if self._pending == 3:
                self.ax[n] = self._ax * _ACC_LSB
                self.ay[n] = self._ay * _ACC_LSB
                self.az[n] = self._az * _ACC_LSB
                self.gx[n] = self._gx * _GYR_LSB
                self.gy[n] = self._gy * _GYR_LSB
                self.gz[n] = self._gz * _GYR_LSB
                self._pending = 0
                n += 1
        return n
