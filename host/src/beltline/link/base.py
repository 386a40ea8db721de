"""The link interface: where the belt unit's notifications come from.

``Link`` is what the live app talks to; the Bluetooth link (``link.ble``) implements it over
bleak, and the simulator's virtual links (``beltline.sim``) implement the same methods. A link
yields ``Notification``s (host arrival time, bytes) and ``LinkState`` changes;
``link.receiver.Receiver`` turns them into time-ordered raw samples for the pipeline.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass

from beltline.link.gatt import Status


@dataclass(frozen=True)
class DeviceInfo:
    """What a connected belt unit says about itself."""

    name: str
    address: str
    firmware: str
    protocol_version: int
    rate_hz: float
    mtu: int


@dataclass(frozen=True)
class Notification:
    host_t: float  # s, host clock (monotonic), when it arrived
    payload: bytes


@dataclass(frozen=True)
class ClockPoint:
    """At host wall time ``wall_unix`` (s) the unit's tick counter read ``tick``, counting at
    ``rate_hz`` since the boot named ``boot_id`` (a new boot restarts the ticks: a new epoch)."""

    boot_id: int
    tick: int
    wall_unix: float
    rate_hz: float

    @property
    def boot_unix(self) -> float:
        """Wall time of tick 0 of this boot."""
        return self.wall_unix - self.tick / self.rate_hz


@dataclass(frozen=True)
class LinkState:
    """``connected``, ``lost`` (the link dropped; reconnecting), ``failed`` (reconnecting was
    given up: ``reason`` says why) or ``closed``. A ``connected`` state from a unit that
    reports its clock carries the time sync taken at that connection (``clock``)."""

    state: str
    host_t: float
    clock: ClockPoint | None = None
    reason: str = ""


class Link(abc.ABC):
    """A connection to one belt unit. Use as ``async with link: async for item in
    link.notifications(): ...``."""

    info: DeviceInfo | None = None
    source = "virtual"  # what a recorded session says it came from
    status: Status | None = None  # the unit's latest status record, if it has one
    rssi_dbm: float | None = None  # signal strength when it was found (scan), if known

    @abc.abstractmethod
    async def connect(self) -> DeviceInfo:
        """Connect, check the protocol version, subscribe; returns the unit's info."""

    @abc.abstractmethod
    async def disconnect(self) -> None:
        """Unsubscribe and disconnect (safe to call twice)."""

    @abc.abstractmethod
    def notifications(self) -> AsyncIterator[Notification | LinkState]:
        """The stream of notifications and state changes, until closed."""

    @abc.abstractmethod
    async def send(self, command: bytes) -> None:
        """Write a control command to the unit."""

    async def __aenter__(self) -> Link:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()
