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
class LinkState:
    """``connected``, ``lost`` (the link dropped; reconnecting) or ``closed``."""

    state: str
    host_t: float


class Link(abc.ABC):
    """A connection to one belt unit. Use as ``async with link: async for item in
    link.notifications(): ...``."""

    info: DeviceInfo | None = None
    source = "virtual"  # what a recorded session says it came from

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
