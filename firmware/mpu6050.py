"""MPU-6050 / MPU-6500 (InvenSense) 6-axis IMU over I2C, read through its FIFO.

The second supported family: cheap and everywhere. Set-up: 1 kHz internal rate with the 44 Hz
digital low-pass, divided by 10 to a 100 Hz output data rate, ±16 g and ±2000 dps, accelerometer
and gyroscope written to the 1 kB FIFO (12 bytes per sample: 85 samples, 0.85 s of slack).
``drain()`` reads FIFO_COUNT, then whole 12-byte frames (big-endian). An overflow (the FIFO
filled because the loop stalled for more than 0.85 s) is counted and the FIFO reset, so frames
stay aligned.
"""

from micropython import const

from imu_base import FifoImu

_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)
_GYRO_CONFIG = const(0x1B)
_ACCEL_CONFIG = const(0x1C)
_FIFO_EN = const(0x23)
_INT_STATUS = const(0x3A)
_USER_CTRL = const(0x6A)
_PWR_MGMT_1 = const(0x6B)
_FIFO_COUNTH = const(0x72)
_FIFO_R_W = const(0x74)
_WHO_AM_I = const(0x75)
_IDS = (0x68, 0x70)  # MPU-6050, MPU-6500
_FRAME = const(12)
_ACC_LSB = 9.80665 / 2048.0  # +-16 g
_GYR_LSB = 3.141592653589793 / 180.0 / 16.4  # +-2000 dps

RATE_HZ = 100.0
ADDRESS = 0x68


class MPU6050(FifoImu):
    FIFO_SAMPLES = 85  # 1024 bytes / 12
    def __init__(self, i2c, address=ADDRESS):
        super().__init__(i2c, address, RATE_HZ)
        self.chip = self._check_id(_WHO_AM_I, _IDS, "MPU-6050/6500")
        self._count = bytearray(2)
        self._frame = bytearray(_FRAME)
        self.start()

    def start(self):
        self._write(_PWR_MGMT_1, 0x01)  # wake, gyro PLL clock
        self._write(_CONFIG, 0x03)  # DLPF 44 Hz: 1 kHz internal rate
        self._write(_SMPLRT_DIV, 9)  # 1 kHz / (1 + 9) = 100 Hz
        self._write(_GYRO_CONFIG, 0x18)
        self._write(_ACCEL_CONFIG, 0x18)
        self._write(_USER_CTRL, 0x04)  # FIFO reset
        self._write(_USER_CTRL, 0x40)  # FIFO enable
        self._write(_FIFO_EN, 0x78)  # gyro x, y, z and accelerometer

    def drain(self):
        if self._read(_INT_STATUS) & 0x10:  # FIFO_OFLOW_INT
            self.overruns += 1
            self._write(_USER_CTRL, 0x44)  # reset and keep enabled: realign the frames
            return 0
        c = self._count
        self.i2c.readfrom_mem_into(self.address, _FIFO_COUNTH, c)
        frames = ((c[0] << 8) | c[1]) // _FRAME
        n = 0
        f = self._frame
        cap = self.MAX_BATCH
        while frames and n < cap:
            self.i2c.readfrom_mem_into(self.address, _FIFO_R_W, f)
            frames -= 1
            v0 = (f[0] << 8) | f[1]
            v1 = (f[2] << 8) | f[3]
            v2 = (f[4] << 8) | f[5]
            v3 = (f[6] << 8) | f[7]
            v4 = (f[8] << 8) | f[9]
            v5 = (f[10] << 8) | f[11]
            self.ax[n] = (v0 - 65536 if v0 > 32767 else v0) * _ACC_LSB
            self.ay[n] = (v1 - 65536 if v1 > 32767 else v1) * _ACC_LSB
            self.az[n] = (v2 - 65536 if v2 > 32767 else v2) * _ACC_LSB
            self.gx[n] = (v3 - 65536 if v3 > 32767 else v3) * _GYR_LSB
            self.gy[n] = (v4 - 65536 if v4 > 32767 else v4) * _GYR_LSB
            self.gz[n] = (v5 - 65536 if v5 > 32767 else v5) * _GYR_LSB
            n += 1
        return n
