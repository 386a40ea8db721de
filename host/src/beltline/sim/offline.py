"""A walk without the host, on the virtual belt unit: the firmware records the whole walk into
its own logbook (``firmware/logbook.py``) with no host in range, then a host comes home and
syncs (``beltline sync --virtual``).

The same arguments give the same walk: the same samples, the same device name in the store and
the same boot id (derived from the arguments), so a second ``--virtual`` sync of it finds the
session the first one stored (``exchange.store_walk`` matches device, boot and ticks).
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any

from beltline.errors import BeltlineError
from beltline.firmware import logbook, wire
from beltline.link.ble import BleLink
from beltline.sim.radio import BumbleClient, VirtualRadio
from beltline.sim.unit import ODR, VirtualUnit
from beltline.sim.wearer import Recording

log = logging.getLogger(__name__)

RECORD_SPEED = 0.0  # the walk is recorded as fast as the unit runs (nobody is listening)
# then paced for the sync: the BULK transfer is bounded by the radio, not the unit's clock; a
# faster clock only spends the machine's CPU on the sampler of a unit lying on the desk
SYNC_SPEED = 5.0
FULL_PER_PACKET = (247 - 3 - wire.HEADER_SIZE - wire.CRC_SIZE) // wire.SAMPLE_SIZE[
    wire.KIND_FULL]  # samples in one stream packet at the unit's MTU


def slots_for(samples: int) -> int:
    """Logbook slots that hold a walk of ``samples`` with room to spare (a record holds at
    least one packet's samples)."""
    return samples // FULL_PER_PACKET + 256


def boot_id_for(*args: object) -> int:
    return zlib.crc32(repr(args).encode()) & 0xFFFFFFFF


@dataclass
class OfflineWalk:
    """The unit that walked, and the host's link to it once the walk is over."""

    unit: VirtualUnit
    link: BleLink
    device: str

    def logged_samples(self) -> int:
        """Samples in the unit's logbook (its file read back: what the unit recorded)."""
        return len(logbook_ticks(self.unit.flash / "logbook.bin"))

    async def close(self) -> dict[str, Any]:
        try:
            return await self.unit.stop()
        finally:
            self.unit.cleanup()


def logbook_ticks(path: Any, boot_id: int | None = None) -> list[int]:
    """Every sample tick held by valid records of a logbook file (host side, CPython), of
    boot ``boot_id`` (default: every boot)."""
    import struct

    data = open(path, "rb").read()
    out: list[int] = []
    for i in range(0, len(data) - logbook.HEAD - 1, logbook.SLOT):
        n = data[i + 18]
        rec = data[i:i + n]
        if n < logbook.HEAD + wire.CRC_SIZE or len(rec) < n or rec[1] != wire.KIND_LOG or \
                wire.crc16(rec, n - 2) != rec[n - 2] | (rec[n - 1] << 8):
            continue
        tick, _no, boot = struct.unpack_from("<III", rec, 4)
        if boot_id is not None and boot != boot_id:
            continue
        stride = (rec[17] >> 4) + 1
        out += [tick + k * stride for k in range(rec[16])]
    return out


async def walk_without_host(rec: Recording, device: str, boot_id: int,
                            speed: float = SYNC_SPEED, reboot_at_s: tuple[float, ...] = (),
                            **unit_kw: Any) -> OfflineWalk:
    """Boot a virtual unit, let it record ``rec`` with no host (logbook only; its power cut
    and back at each of ``reboot_at_s``, walk seconds: a new boot, its ticks from 0), then
    bring a host into range (the unit's pairing button pressed: a first pairing) and return
    its link, not yet connected."""
    radio = VirtualRadio()
    unit_kw.setdefault("logbook_slots", slots_for(len(rec.t)))
    unit = VirtualUnit(radio, rec, RECORD_SPEED, boot_id=boot_id, **unit_kw)
    unit.holds = sorted(reboot_at_s)  # the unit stands still there until its power is cut
    await unit.start()
    log.info("the virtual unit records %.1f min with no host", unit.walk_s / 60)
    for at in sorted(reboot_at_s):
        await unit.wait_until(lambda at=at: unit.clock_s >= at - 1e-3, 1e9)  # type: ignore[misc]
        unit.holds.remove(at)
        await unit.reboot()
    # one sample period past the walk: the unit has taken every sample of it
    await unit.wait_until(lambda: unit.clock_s >= unit.walk_s + 1.0, 1e9)
    await unit.press_button()  # the host pairs for the first time: the window must be open
    unit.set_speed(speed)
    central = radio.central()
    unit.host = central
    found = await radio.scan(0.3, central)
    if not found:
        await unit.stop()
        unit.cleanup()
        raise BeltlineError("the virtual belt unit does not advertise")
    name, address, rssi = found[0]
    link = BleLink(address, ODR[unit.imu], backend=BumbleClient,
                   backend_kwargs={"bumble_device": central}, name=name, rssi_dbm=rssi)
    return OfflineWalk(unit, link, device)
