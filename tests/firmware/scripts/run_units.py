# Small checks of the firmware modules on the real MicroPython, printed as name=value lines.
import os
import struct

import imu_models
import machine

import config
import control
import imu_base
import logbook
import lsm6dso
import mpu6050
import wire


class Clock:
    now_ms = 0


def report(name, value):
    print("%s=%s" % (name, value))


# --- logbook: corruption detected and skipped, numbering survives a reboot ----------------
path = "/tmp/beltline_units_logbook.bin"
try:
    os.remove(path)
except OSError:
    pass
b = wire.Batcher(247)
book = logbook.Logbook(path, slots=16)
for k in range(10):
    for i in range(14):
        p = b.add_full(k * 14 + i, 1.0, 2.0, 0.0, 0.0, 9.8, 0.0, 0.0, 0.0)
    book.append(p, 7)
    book.seal()  # one record per packet here
book.close()
with open(path, "r+b") as f:  # flip one payload byte of the 4th record
    f.seek(3 * logbook.SLOT + logbook.HEAD + 20)
    c = f.read(1)[0]
    f.seek(3 * logbook.SLOT + logbook.HEAD + 20)
    f.write(bytes((c ^ 0xFF,)))
book = logbook.Logbook(path, slots=16)
got = [struct.unpack_from("<I", p, 4)[0] for p in book.replay(0, 1 << 30, 7)]
report("logbook_next_no", book.next_no)
report("logbook_replayed", len(got))
report("logbook_corrupt", book.corrupt)
report("logbook_missing_tick", 42 not in got and 28 in got)
# a ring: older records are overwritten once the slots are used up
for k in range(20):
    for i in range(14):
        p = b.add_full(140 + k * 14 + i, 1.0, 2.0, 0.0, 0.0, 9.8, 0.0, 0.0, 0.0)
    book.append(p, 7)
    book.seal()
report("logbook_ring_records", len(list(book.replay(0, 1 << 30, 7))))
book.close()

# --- drivers: identity checked with a clear error ---------------------------------------
machine.SIM.devices.clear()
i2c = machine.I2C(0)
try:
    lsm6dso.LSM6DSO(i2c)
    report("missing_imu", "no error")
except imu_base.ImuError as exc:
    report("missing_imu", "no LSM6DSO answers" in str(exc))
model = imu_models.Lsm6dso(Clock, lambda k: (0.0, 0.0, 9.80665, 0.0, 0.0, 0.1))
model.regs[0x0F] = 0x69  # an LSM6DS3 answers instead
machine.SIM.devices[lsm6dso.ADDRESS] = model
try:
    lsm6dso.LSM6DSO(i2c)
    report("wrong_imu", "no error")
except imu_base.ImuError as exc:
    report("wrong_imu", "WHO_AM_I=0x69" in str(exc))
model.regs[0x0F] = 0x6C
imu = lsm6dso.LSM6DSO(i2c)
Clock.now_ms = 1000
n = imu.drain()
report("lsm_samples_1s", n)
report("lsm_az", round(imu.az[0], 2))
report("lsm_gz", round(imu.gz[0], 3))
Clock.now_ms = 1000 + 6000  # the loop stalled 6 s: more than the FIFO holds
imu.drain()
report("lsm_overrun", imu.overruns)
machine.SIM.devices.clear()
m = imu_models.Mpu6050(Clock, lambda k: (0.5, 0.0, 9.80665, 0.2, 0.0, 0.0))
machine.SIM.devices[mpu6050.ADDRESS] = m
Clock.now_ms = 0
mpu = mpu6050.MPU6050(i2c)
Clock.now_ms = 500
report("mpu_samples_half_s", mpu.drain())
report("mpu_ax", round(mpu.ax[0], 2))
report("mpu_gx", round(mpu.gx[0], 3))

# --- settings written atomically ----------------------------------------------------------
cfg_path = "/tmp/beltline_units_settings.json"
config.save(cfg_path, dict(config.DEFAULTS, mode=1))
report("settings_mode", config.load(cfg_path)[0]["mode"])
try:
    os.stat(cfg_path + ".new")
    report("settings_tmp_left", True)
except OSError:
    report("settings_tmp_left", False)

# --- control commands round-trip, garbage refused ------------------------------------------
report("control_replay", control.parse(control.encode(control.REPLAY, 5, 9)) == (8, (5, 9)))
report("control_garbage", control.parse(b"\x03\x00") is None)
