"""The link: where the belt unit's notifications come from, behind one interface.

``Link`` is what the live app talks to; ``VirtualLink`` implements it with the virtual device
(the firmware's own sample loop over a virtual wearer), and the Bluetooth link implements the
same methods over bleak. A link yields ``Notification``s (host arrival time, bytes) and
``LinkState`` changes; ``Receiver`` turns them into time-ordered raw samples for the pipeline,
with every gap, duplicate and bad packet counted by the ``Timeline``.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import numpy as np

from beltline.device import Faults, packets
from beltline.firmware import wire as fw
from beltline.timeline import Gap, Samples, Timeline
from beltline.wearer import Recording


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


class VirtualLink(Link):
    """The virtual device as a link. ``speed`` 1 paces notifications in real time, 10 runs ten
    times faster, 0 as fast as possible. ``faults`` injects loss, duplicates, re-ordering, a
    disconnect (reported as ``lost`` then ``connected``) and clock drift."""

    def __init__(self, rec: Recording, mtu: int = 247, faults: Faults | None = None,
                 seed: int = 0, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.rec = rec
        self.mtu = mtu
        self.faults = faults or Faults()
        self.seed = seed
        self.speed = speed
        self.clock = clock
        self.sent: list[bytes] = []
        self._open = False

    async def connect(self) -> DeviceInfo:
        rate = 1.0 / float(np.median(np.diff(self.rec.t)))
        self.info = DeviceInfo("Beltline virtual", "virtual:0", "virtual", fw.VERSION, rate,
                               self.mtu)
        self._open = True
        return self.info

    async def disconnect(self) -> None:
        self._open = False

    async def send(self, command: bytes) -> None:
        if not self._open:
            raise ConnectionError("not connected")
        self.sent.append(bytes(command))

    async def notifications(self) -> AsyncIterator[Notification | LinkState]:
        if not self._open:
            raise ConnectionError("not connected: call connect() first")
        f = self.faults
        start = self.clock()
        t0 = float(self.rec.t[0])
        lost_at = f.disconnect_at_s
        phase = "before" if lost_at is not None else "after"  # of the one disconnect
        yield LinkState("connected", start)
        for t_dev, payload in packets(self.rec, self.mtu, f, self.seed):
            if not self._open:
                break
            if phase == "before" and lost_at is not None and t_dev - t0 >= lost_at:
                phase = "lost"
                yield LinkState("lost", self._at(start, lost_at))
            if phase == "lost" and lost_at is not None and \
                    t_dev - t0 >= lost_at + f.disconnect_for_s:
                phase = "after"
                yield LinkState("connected", self._at(start, lost_at + f.disconnect_for_s))
            if self.speed > 0:
                delay = start + (t_dev - t0) / self.speed - self.clock()
                if delay > 0:
                    await asyncio.sleep(delay)
            else:
                await asyncio.sleep(0)  # let the rest of the app run
            yield Notification(self._at(start, t_dev - t0), payload)
        yield LinkState("closed", self.clock())

    def _at(self, start: float, dev_s: float) -> float:
        return start + dev_s / self.speed if self.speed > 0 else self.clock()


@dataclass
class RawChunk:
    """Time-ordered raw samples (device clock, s; m/s²; rad/s) ready for the pipeline."""

    t: np.ndarray
    acc: np.ndarray
    gyr: np.ndarray


class Receiver:
    """Notifications in, raw sample chunks out (for ``Pipeline.push``). Packets that arrive
    after their span was already analysed (``late``) are counted, not fed: the pipeline only
    goes forward in time. Angle-only packets (an MTU too small for raw samples) carry no raw
    data and are counted in ``angles_only``."""

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self.timeline = Timeline()
        self.late_not_analysed = 0
        self.angles_only = 0
        self.gaps: list[Gap] = []

    def push(self, payload: bytes) -> Iterator[RawChunk]:
        yield from self._chunks(self.timeline.push(payload))

    def flush(self) -> Iterator[RawChunk]:
        yield from self._chunks(self.timeline.flush())

    def _chunks(self, events: list[Samples | Gap]) -> Iterator[RawChunk]:
        for e in events:
            if isinstance(e, Gap):
                self.gaps.append(e)
                continue
            if e.late:
                self.late_not_analysed += e.batch.n
                continue
            v = e.batch.values
            if "ax" not in v:
                self.angles_only += e.batch.n
                continue
            ticks = e.tick + np.arange(e.batch.n) * e.batch.stride
            yield RawChunk(ticks / self.rate_hz,
                           np.column_stack([v["ax"], v["ay"], v["az"]]),
                           np.column_stack([v["gx"], v["gy"], v["gz"]]))
