"""The belt unit's GATT identifiers and status record on the host side, from the one
definition in the firmware (``firmware/protocol.py``), with the 16-bit standard ones in full."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from beltline.firmware import protocol as _p

SERVICE_UUID = _p.SERVICE_UUID
STREAM_UUID = _p.STREAM_UUID
CONTROL_UUID = _p.CONTROL_UUID
STATUS_UUID = _p.STATUS_UUID


def _std(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


FIRMWARE_REV_UUID = _std(_p.FIRMWARE_REV)
FLAG_CONNECTED = _p.FLAG_CONNECTED
FLAG_LOW_BATTERY = _p.FLAG_LOW_BATTERY
FLAG_ALERT = _p.FLAG_ALERT
FLAG_PAIRING = _p.FLAG_PAIRING
FLAG_SECURE = _p.FLAG_SECURE
FLAG_BACKLOG = _p.FLAG_BACKLOG
FLAG_REPLAY = _p.FLAG_REPLAY
FLAG_RECORDING = _p.FLAG_RECORDING
FLAG_BULK = _p.FLAG_BULK
BATTERY_LEVEL_UUID = _std(_p.BATTERY_LEVEL)


@dataclass(frozen=True)
class Status:
    """The unit's status record, decoded (field meanings in ``firmware/protocol.py``)."""

    version: int
    fw_major: int
    fw_minor: int
    battery_pct: int
    mode: int
    rate_centihz: int
    imu_overruns: int
    notify_errors: int
    logbook_records: int
    flags: int
    sync_host_ms: int
    sync_tick: int
    boot_id: int
    refused: int
    log_first: int
    log_next: int

    @property
    def rate_hz(self) -> float:
        return self.rate_centihz / 100.0

    @property
    def firmware(self) -> str:
        return f"{self.fw_major}.{self.fw_minor}"

    def flag(self, bit: int) -> bool:
        return bool(self.flags & bit)


def decode_status(data: bytes) -> Status:
    """Decode a status read; ``ValueError`` if it is not one."""
    if len(data) != _p.STATUS_SIZE:
        raise ValueError(f"status record of {len(data)} bytes, expected {_p.STATUS_SIZE}")
    return Status(*struct.unpack(_p.STATUS_FORMAT, data))


assert tuple(Status.__dataclass_fields__) == _p.STATUS_FIELDS  # one layout, both sides
