"""The virtual device as a ``Link``: the firmware's own sample loop (``stream.py``) over a
virtual wearer, in process, paced in real time or faster, with injected link faults. The fast
path for tests and benchmarks that need speed; the virtual belt unit itself (the whole
firmware behind an emulated radio) is ``sim.unit``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import numpy as np

from beltline.firmware import wire as fw
from beltline.link.base import DeviceInfo, Link, LinkState, Notification
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession
from beltline.sim import scenarios
from beltline.sim.device import Faults, packets
from beltline.sim.wearer import Recording, simulate

log = logging.getLogger(__name__)


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


def virtual_session(scenario: str, minutes: float, seed: int, mount: str, speed: float,
                    store_path: Path | None, settings: Settings,
                    faults: Faults | None = None, fast: bool = False) -> LiveSession:
    """A live session on the built-in virtual wearer, worn by the virtual belt unit (the
    firmware in MicroPython, its bluetooth on Bumble) and reached by the Bluetooth link
    (bleak). ``fast``: the firmware's sample loop in process instead (no radio, no unit
    application), for quick demos and benchmarks."""
    link: Link
    if not fast:
        from beltline.errors import BeltlineError
        from beltline.sim.unit import micropython

        try:
            micropython()
        except BeltlineError as exc:
            log.warning("%s; running the firmware's sample loop in process instead (--fast)",
                        exc)
            fast = True
    if fast:
        rec = simulate(scenarios.build(scenario, minutes, seed), 100.0, seed=seed, mount=mount)
        link = VirtualLink(rec, faults=faults, seed=seed, speed=speed)
    else:
        from beltline.sim.unit import ODR, VirtualBleLink

        rec = simulate(scenarios.build(scenario, minutes, seed), ODR["lsm6dso"], seed=seed,
                       mount=mount)
        f = faults or Faults()
        link = VirtualBleLink(rec, speed, f.disconnect_at_s, f.disconnect_for_s)
    return LiveSession(link, store_path, settings, name=f"virtual {scenario}")
