"""Is the belt worn? Motion-triggered recording: the unit logs by itself while it is worn and
stops when it has lain still on a table for a while (no button for a day's wear).

Per sample (``add``): three float additions, the gyroscope summed over a *block* of ``rate_hz /
BLOCK_HZ`` samples (16 at 104 Hz, 0.15 s). The block mean is a boxcar low-pass: it keeps body
motion (sway and gait live below ~3 Hz) and damps a table's vibration: a motor's buzz at 20-50
Hz by 13-56x, a lorry's 8-15 Hz by 5-12x (the 16-sample boxcar's gain). Per block: the block
mean's three components summed and squared into the window. Per *window* of ``BLOCKS`` blocks
(~1 s): the variance of the block means around their own window mean, summed over the three
axes. Subtracting the window mean removes the gyroscope's zero-rate offset (up to +-1 dps on the
LSM6DSO, DS12140 Table 3), which would otherwise read as motion; a still belt then shows only
the sensor's noise. The window's RMS (dps) is graded against two thresholds (``config``:
``still_dps``, ``worn_dps``):

    below still_dps   table-still: the noise floor (LSM6DSO 3.8 mdps/sqrt(Hz), DS12140; MPU-6050
                      0.005 dps/sqrt(Hz), PS-MPU-6000A: ~0.01-0.02 dps after the block mean;
                      0.035 dps median with the virtual wearer's 4x pessimistic noise)
    above worn_dps    the body: quiet standing sways the trunk ~0.3-0.5 deg RMS at ~0.2-1 Hz
                      (Winter 1995, Gait & Posture 3:193): 1.4 dps median, never below 0.4,
                      in the virtual wearer's 0.3-deg sway; a seated wearer with a third of
                      that sway: 0.46 dps median, never below 0.16
    in between        neither: keeps the state (a seated wearer's quietest seconds do not count
                      towards a stop, a vibrating table's does not towards a start)

Start: ``start_s`` windows in a row above ``worn_dps`` (a knock on the table is one window, two
at most; picking the belt up and putting it on is many). Stop: ``stop_s`` windows in a row
below ``still_dps``. A window with no samples (the FIFO was empty) changes nothing.

Cost: 3 boxed floats per sample (the adds) and ~16 per block (1 per sample at 104 Hz): 3.9 heap
blocks per sample measured under MicroPython, 2.5 % of ``Stream.sample``'s 159 and 2-4 % of its
time (``tests/firmware/scripts/run_wear.py``, ``beltline bench fusion``).
"""

import math

BLOCK_HZ = 6.5  # block means per second: a boxcar of 1/6.5 s (its first null at 6.5 Hz)
BLOCKS = 6  # block means per window (~0.92 s at 104 Hz)
_RAD2DEG = 180.0 / math.pi


class Wear:
    def __init__(self, rate_hz, still_dps, worn_dps, start_s, stop_s):
        self.block = max(2, int(rate_hz / BLOCK_HZ + 0.5))
        self.window_s = self.block * BLOCKS / rate_hz
        self.recording = False
        self.windows = 0  # windows judged
        self.level = -1  # the last window's grade: 0 still, 1 in between, 2 worn (-1: none yet)
        self.rms_dps = 0.0  # the last window's RMS
        self.starts = 0
        self.stops = 0
        self._worn_run = 0  # windows in a row above worn_dps
        self._still_run = 0  # windows in a row below still_dps
        self._n = 0
        self._sx = 0.0
        self._sy = 0.0
        self._sz = 0.0
        self._nb = 0
        self._wx = 0.0
        self._wy = 0.0
        self._wz = 0.0
        self._w2 = 0.0
        self.set(still_dps, worn_dps, start_s, stop_s)

    def set(self, still_dps, worn_dps, start_s, stop_s):
        """New thresholds (``config``'s units: dps, s); the runs are kept."""
        # compared in (rad/s)^2 of the block means' sum: no square root per window
        self._still2 = (still_dps / _RAD2DEG) ** 2
        self._worn2 = (worn_dps / _RAD2DEG) ** 2
        self._start_n = max(1, int(start_s / self.window_s + 0.5))
        self._stop_n = max(1, int(stop_s / self.window_s + 0.5))

    def add(self, gx, gy, gz):
        """One gyroscope sample (rad/s). Returns True when the recording state changed."""
        self._sx += gx
        self._sy += gy
        self._sz += gz
        n = self._n + 1
        if n < self.block:
            self._n = n
            return False
        self._n = 0
        return self._block()

    def _block(self):
        k = 1.0 / self.block
        mx = self._sx * k
        my = self._sy * k
        mz = self._sz * k
        self._sx = 0.0
        self._sy = 0.0
        self._sz = 0.0
        self._wx += mx
        self._wy += my
        self._wz += mz
        self._w2 += mx * mx + my * my + mz * mz
        nb = self._nb + 1
        if nb < BLOCKS:
            self._nb = nb
            return False
        self._nb = 0
        # variance of the block means about the window's mean, summed over the axes
        var = (self._w2 - (self._wx * self._wx + self._wy * self._wy + self._wz * self._wz)
               / BLOCKS) / BLOCKS
        self._wx = 0.0
        self._wy = 0.0
        self._wz = 0.0
        self._w2 = 0.0
        return self._judge(var)

    def _judge(self, var):
        self.windows += 1
        self.rms_dps = math.sqrt(var if var > 0.0 else 0.0) * _RAD2DEG
        if var >= self._worn2:
            self.level = 2
            self._worn_run += 1
            self._still_run = 0
        elif var < self._still2:
            self.level = 0
            self._still_run += 1
            self._worn_run = 0
        else:
            self.level = 1
            self._worn_run = 0
            self._still_run = 0
        if not self.recording and self._worn_run >= self._start_n:
            self.recording = True
            self.starts += 1
            return True
        if self.recording and self._still_run >= self._stop_n:
            self.recording = False
            self.stops += 1
            return True
        return False
