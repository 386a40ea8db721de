"""Control commands written by the host to the control characteristic (little-endian).

    byte 0  command          payload      limits (a command outside them is refused)
    0x01    CALIBRATE        -            take the current posture as neutral (device angles)
    0x02    SET_MOUNT        9 x f32      sensor-to-pelvis rotation, row-major, from the host:
                                          a proper rotation (config.valid_mount)
    0x03    THRESHOLDS       3 x f32      hip drop deg, anterior tilt deg, dwell s
                                          (config.DROP_DEG, TILT_DEG, DWELL_S)
    0x04    MODE             u8           0 tracking (silent), 1 training (buzz)
    0x05    HAPTICS          u8           0 off, 1 on
    0x06    STREAM           u8           0 angles only, 1 full samples (if the MTU allows)
    0x07    TIME_SYNC        u32          host milliseconds at this write (logged with the tick)
    0x08    REPLAY           u32 u32      send logbook packets with ticks in [from, to), from < to
    0x09    REPLAY_STOP      -
    0x0A    BULK             u32          send every logbook record numbered >= N (all boots)
                                          as fast as the stack takes them, live packets
                                          logged meanwhile; ends with an end-marker record
                                          (count 0) numbered with the first record not sent
    0x0B    BULK_STOP        -            end a BULK transfer early (live again)
    0x0C    AUTO_RECORD      u8 f32       1 motion-triggered recording (logs only while worn),
                                          0 log everything; stop after f32 s of table
                                          stillness (config.STOP_S)
    0x0D    BUZZ             u8           buzz this many pulses now (1-BUZZ_MAX): an exercise
                                          rep the host flagged; only in training mode with
                                          haptics on (else ignored), never saved
The longest is SET_MOUNT, ``MAX_SIZE`` = 37 bytes: the unit enlarges the characteristic's
buffer to that (MicroPython's default of 20 bytes would cut it). A malformed or out-of-range
command is refused, counted in the status, and changes nothing: the unit never stops for it.
"""

import math
import struct

import config

CALIBRATE = 0x01
SET_MOUNT = 0x02
THRESHOLDS = 0x03
MODE = 0x04
HAPTICS = 0x05
STREAM = 0x06
TIME_SYNC = 0x07
REPLAY = 0x08
REPLAY_STOP = 0x09
BULK = 0x0A
BULK_STOP = 0x0B
AUTO_RECORD = 0x0C
BUZZ = 0x0D
BUZZ_MAX = 3  # pulses of 200 ms, a poll apart (board.Motor): over in well under a second

_SIZES = {CALIBRATE: 0, SET_MOUNT: 36, THRESHOLDS: 12, MODE: 1, HAPTICS: 1, STREAM: 1,
          TIME_SYNC: 4, REPLAY: 8, REPLAY_STOP: 0, BULK: 4, BULK_STOP: 0, AUTO_RECORD: 5,
          BUZZ: 1}
MAX_SIZE = 37


def parse(data):
    """(command, values tuple) or None when ``data`` is not a valid command."""
    if not data:
        return None
    cmd = data[0]
    size = _SIZES.get(cmd)
    if size is None or len(data) != 1 + size:
        return None
    if cmd == SET_MOUNT:
        v = struct.unpack_from("<9f", data, 1)
        return (cmd, v) if config.valid_mount(v) else None
    if cmd == THRESHOLDS:
        v = struct.unpack_from("<3f", data, 1)
        for x in v:
            if not math.isfinite(x):
                return None
        if not (config.valid("drop_deg", v[0]) and config.valid("tilt_deg", v[1])
                and config.valid("dwell_s", v[2])):
            return None
        return cmd, v
    if cmd in (MODE, HAPTICS, STREAM):
        return (cmd, (data[1],)) if data[1] in (0, 1) else None
    if cmd == BUZZ:
        return (cmd, (data[1],)) if 1 <= data[1] <= BUZZ_MAX else None
    if cmd in (TIME_SYNC, BULK):
        return cmd, struct.unpack_from("<I", data, 1)
    if cmd == AUTO_RECORD:
        v = struct.unpack_from("<Bf", data, 1)
        ok = v[0] in (0, 1) and math.isfinite(v[1]) and config.valid("stop_s", v[1])
        return (cmd, v) if ok else None
    if cmd == REPLAY:
        v = struct.unpack_from("<II", data, 1)
        return (cmd, v) if v[0] < v[1] else None
    return cmd, ()


def encode(cmd, *values):
    """The bytes of a command (used by the host and the tests)."""
    if cmd == SET_MOUNT:
        return bytes((cmd,)) + struct.pack("<9f", *values)
    if cmd == THRESHOLDS:
        return bytes((cmd,)) + struct.pack("<3f", *values)
    if cmd in (MODE, HAPTICS, STREAM, BUZZ):
        return bytes((cmd, values[0]))
    if cmd in (TIME_SYNC, BULK):
        return bytes((cmd,)) + struct.pack("<I", *values)
    if cmd == REPLAY:
        return bytes((cmd,)) + struct.pack("<II", *values)
    if cmd == AUTO_RECORD:
        return bytes((cmd,)) + struct.pack("<Bf", *values)
    return bytes((cmd,))
