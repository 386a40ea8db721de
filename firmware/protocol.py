"""The belt unit's Bluetooth identifiers and its status record: the one definition, used by the
unit (``gatt.py``) and imported by the host (``beltline.firmware.protocol``).

Service ``SERVICE_UUID`` (128-bit, ours):
  - stream  ``...0001`` notify: wire packets (``wire.py``), batched to the negotiated MTU
  - control ``...0002`` write (encrypted link): commands (``control.py``)
  - status  ``...0003`` read (encrypted link)/notify: ``STATUS_FORMAT`` below, once a second
Standard services: Battery (0x180F, level 0x2A19) and Device Information (0x180A:
manufacturer 0x2A29, model 0x2A24, firmware revision 0x2A26).
"""

import struct

SERVICE_UUID = "7a1e0000-5b1d-4e6a-9c47-8d2b3f6c0b1a"
STREAM_UUID = "7a1e0001-5b1d-4e6a-9c47-8d2b3f6c0b1a"
CONTROL_UUID = "7a1e0002-5b1d-4e6a-9c47-8d2b3f6c0b1a"
STATUS_UUID = "7a1e0003-5b1d-4e6a-9c47-8d2b3f6c0b1a"
BATTERY_SERVICE = 0x180F
BATTERY_LEVEL = 0x2A19
DEVICE_INFO_SERVICE = 0x180A
MANUFACTURER = 0x2A29
MODEL = 0x2A24
FIRMWARE_REV = 0x2A26
PREFERRED_MTU = 247

# status record, little-endian, in this order
STATUS_FIELDS = (
    "version",  # wire protocol version
    "fw_major", "fw_minor",  # firmware version
    "battery_pct",
    "mode",  # 0 tracking (silent), 1 training (buzz)
    "rate_centihz",  # IMU sample rate, 0.01 Hz
    "imu_overruns",  # samples lost in the IMU's FIFO
    "notify_errors",  # notifications the stack refused (ENOMEM) or lost (stale link)
    "logbook_records",
    "flags",  # 1 connected, 2 low battery, 4 alert active, 8 pairing window open, 16 secure,
    # 32 the logbook holds packets not yet sent (the stream is catching up), 64 a REPLAY span
    # asked for is being sent (clear: everything of it the logbook held has gone out),
    # 128 recording: what no host receives goes to the logbook (worn, or auto-record off)
    # 256 a BULK transfer is asked for or being sent (it ends with an end-marker record)
    "sync_host_ms",  # the last TIME_SYNC: the host's milliseconds ...
    "sync_tick",  # ... and the device tick at that write
    "boot_id",  # random at every power-on: ticks restart with it (a new epoch)
    "refused",  # control writes refused: malformed, out of range, or from an unpaired link
    "log_first",  # the oldest logbook record number the ring still holds
    "log_next",  # the number after the newest logbook record (the one still filling in RAM
    # included); records are numbered across boots: a host that has everything before N asks
    # for BULK from N
)
STATUS_FORMAT = "<BBBBBHIIIIIIIIII"
STATUS_SIZE = struct.calcsize(STATUS_FORMAT)
FLAG_CONNECTED = 1
FLAG_LOW_BATTERY = 2
FLAG_ALERT = 4
FLAG_PAIRING = 8
FLAG_SECURE = 16
FLAG_BACKLOG = 32
FLAG_REPLAY = 64
FLAG_RECORDING = 128
FLAG_BULK = 256
# replayed logbook packets go out at most this often, so the live stream keeps its share
REPLAY_GAP_MS = 20
# a BULK transfer (no live stream meanwhile) sends as fast as the stack takes records; when it
# refuses one (ENOMEM: its buffers wait for the radio) the unit tries again after about one
# connection event (7.5 ms, the shortest interval BLE allows)
BULK_RETRY_MS = 8
BULK_BURST = 16  # records sent back to back before the transfer yields to the other tasks
