"""Control commands written by the host to the control characteristic (little-endian).

    byte 0  command          payload
    0x01    CALIBRATE        -            take the current posture as neutral (device angles)
    0x02    SET_MOUNT        9 x f32      sensor-to-pelvis rotation, row-major, from the host
    0x03    THRESHOLDS       3 x f32      hip drop deg, anterior tilt deg, dwell s
    0x04    MODE             u8           0 tracking (silent), 1 training (buzz)
    0x05    HAPTICS          u8           0 off, 1 on
    0x06    STREAM           u8           0 angles only, 1 full samples (if the MTU allows)
    0x07    TIME_SYNC        u32          host milliseconds at this write (logged with the tick)
    0x08    REPLAY           u32 u32      send logbook packets with ticks in [from, to)
    0x09    REPLAY_STOP      -
A malformed command is counted in ``errors`` and ignored: the unit never stops streaming for it.
"""

import struct

CALIBRATE = 0x01
SET_MOUNT = 0x02
THRESHOLDS = 0x03
MODE = 0x04
HAPTICS = 0x05
STREAM = 0x06
TIME_SYNC = 0x07
REPLAY = 0x08
REPLAY_STOP = 0x09

_SIZES = {CALIBRATE: 0, SET_MOUNT: 36, THRESHOLDS: 12, MODE: 1, HAPTICS: 1, STREAM: 1,
          TIME_SYNC: 4, REPLAY: 8, REPLAY_STOP: 0}


def parse(data):
    """(command, values tuple) or None when ``data`` is not a valid command."""
    if not data:
        return None
    cmd = data[0]
    size = _SIZES.get(cmd)
    if size is None or len(data) != 1 + size:
        return None
    if cmd == SET_MOUNT:
        return cmd, struct.unpack_from("<9f", data, 1)
    if cmd == THRESHOLDS:
        return cmd, struct.unpack_from("<3f", data, 1)
    if cmd in (MODE, HAPTICS, STREAM):
        return cmd, (data[1],)
    if cmd == TIME_SYNC:
        return cmd, struct.unpack_from("<I", data, 1)
    if cmd == REPLAY:
        return cmd, struct.unpack_from("<II", data, 1)
    return cmd, ()


def encode(cmd, *values):
    """The bytes of a command (used by the host and the tests)."""
    if cmd == SET_MOUNT:
        return bytes((cmd,)) + struct.pack("<9f", *values)
    if cmd == THRESHOLDS:
        return bytes((cmd,)) + struct.pack("<3f", *values)
    if cmd in (MODE, HAPTICS, STREAM):
        return bytes((cmd, values[0]))
    if cmd == TIME_SYNC:
        return bytes((cmd,)) + struct.pack("<I", *values)
    if cmd == REPLAY:
        return bytes((cmd,)) + struct.pack("<II", *values)
    return bytes((cmd,))
