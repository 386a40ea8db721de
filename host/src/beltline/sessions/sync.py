"""``beltline sync``: the walks a belt unit recorded with no host, pulled from its logbook and
stored as sessions.

The unit logs every packet while no host listens (``firmware/logbook.py``) and sends that
backlog, in order, once a host connects and says it listens (its TIME_SYNC). The sync takes
everything the unit recorded before that moment (ticks below the TIME_SYNC's tick):

1. connect (pair, TIME_SYNC: the boot, ``boot_id``, and the tick of "now");
2. receive the backlog (the status's backlog flag says when the unit has sent it all); every
   packet is CRC-checked by the wire format (``link.wire``: a bad one is counted, never used);
3. ask again (REPLAY) for every span still missing: what lies between the last tick the store
   holds for this boot and the first that arrived (a sync cut off earlier, a host that died
   with what it had pulled), and every hole in what arrived (a drop in the middle: the link
   reconnects by itself and the unit goes on with its backlog);
4. cut the samples into walks (a break of ``WALK_BREAK_S`` or more starts a new one) and store
   each through ``exchange.store_walk`` (source "sync", analysed in batch). That path is
   idempotent: a walk already stored (the same device, boot and ticks) is joined, and only
   samples it lacks are added, so syncing twice never duplicates a session or a sample.

A unit that rebooted since the walk has its ticks restarted: the replay covers the current boot
only (``app.replayer``), so a sync made after a reboot finds that boot's walks only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from beltline.errors import BeltlineError
from beltline.firmware import control
from beltline.link.base import ClockPoint, LinkState, Notification
from beltline.link.ble import BleLink
from beltline.link.gatt import FLAG_BACKLOG, FLAG_REPLAY
from beltline.link.receiver import Receiver
from beltline.link.timeline import Timeline
from beltline.pipeline.settings import Settings
from beltline.records import RawBlock, RawFormat
from beltline.sessions import exchange
from beltline.sessions.store import Store

log = logging.getLogger(__name__)

WALK_BREAK_S = 300.0  # a break this long between samples of one boot starts a new walk
IDLE_S = 5.0  # nothing more arrived this long after the unit said it had sent everything
MAX_HOLES = 16  # spans asked for one by one; beyond that one span covering the rest
TICK_END = 0xFFFFFFFF


@dataclass
class Walk:
    sid: int
    samples: int  # raw samples the session holds
    added: int  # of which this sync stored
    seconds: float
    device: str


@dataclass
class SyncResult:
    walks: list[Walk] = field(default_factory=list)
    samples: int = 0  # distinct samples pulled (recorded before the sync)
    packets: int = 0  # stream notifications received
    bad_packets: int = 0  # refused by the wire format (CRC, layout)
    asked: int = 0  # REPLAY spans asked for
    reconnects: int = 0
    seconds: float = 0.0  # from connected to everything received
    boot_id: int | None = None

    @property
    def rate_samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, object]:
        return {"sessions": [w.sid for w in self.walks], "samples": self.samples,
                "added": sum(w.added for w in self.walks), "packets": self.packets,
                "bad_packets": self.bad_packets, "replays_asked": self.asked,
                "reconnects": self.reconnects, "seconds": round(self.seconds, 3),
                "rate_samples_per_s": round(self.rate_samples_per_s, 1)}


class _Pull:
    """The samples of one boot as they arrive, and what is still missing."""

    def __init__(self, link: BleLink, stored_last: int | None, progress: bool) -> None:
        self.link = link
        self.rx = Receiver(link.rate_hz, keep_late=True)
        self.rx.timeline = Timeline(reorder_window=0)  # out of order is "late", kept: no wait
        self.stored_last = stored_last
        self.ticks: list[np.ndarray] = []
        self.acc: list[np.ndarray] = []
        self.gyr: list[np.ndarray] = []
        self.clock: ClockPoint | None = None
        self.connected = False
        self.failed = ""
        self.restarted = False
        self.statuses_at_connect = 0
        self.last_packet = time.monotonic()
        self.packets = 0
        self.newest = -1  # the highest tick received
        self.per_packet = 1  # the most ticks one packet spanned (the unsent tail's bound)
        self.asked: set[tuple[int, int]] = set()
        self.bar: tqdm[None] | None = None
        self.progress = progress
        self.seen = 0

    @property
    def end_tick(self) -> int:
        assert self.clock is not None
        return self.clock.tick  # recorded before the sync's TIME_SYNC: what this sync takes

    def on_state(self, item: LinkState) -> None:
        if item.state == "connected":
            clock = item.clock
            if clock is not None and self.clock is not None and clock.boot_id != \
                    self.clock.boot_id:
                log.warning("the belt unit restarted during the sync: storing what arrived "
                            "from its previous boot")
                self.restarted = True
                return
            if clock is not None and self.clock is None:
                self.clock = clock
                list(self.rx.on_connected(clock))
                start = 0 if self.stored_last is None else self.stored_last + 1
                if self.progress:
                    self.bar = tqdm(total=max(0, clock.tick - start), unit="sample",
                                    unit_scale=True, desc="sync", leave=False)
            self.connected = True
            self.statuses_at_connect = self.link.statuses
        elif item.state == "lost":
            self.connected = False
        elif item.state == "failed":
            self.failed = item.reason

    def on_packet(self, item: Notification) -> None:
        self.packets += 1
        chunks = list(self.rx.push(item.payload))
        chunks += self.rx.take_late()
        for c in chunks:
            if c.ticks is None or not len(c.ticks):
                continue
            self.ticks.append(c.ticks)
            self.acc.append(c.acc)
            self.gyr.append(c.gyr)
            self.per_packet = max(self.per_packet, int(c.ticks[-1] - c.ticks[0]) + 1)
            k = int(np.count_nonzero(c.ticks < self.end_tick))
            if k:  # (live packets after the sync's tick do not count as the backlog coming)
                self.last_packet = time.monotonic()
                if self.bar is not None:
                    self.bar.update(k)
            self.newest = max(self.newest, int(c.ticks[-1]))

    def holes(self) -> list[tuple[int, int]]:
        """Tick spans [from, to) below the sync's tick that nothing covers yet."""
        if not self.ticks:
            have = np.zeros(0, np.int64)
        else:
            have = np.unique(np.concatenate(self.ticks))
        have = have[have < self.end_tick]
        start = 0 if self.stored_last is None else self.stored_last + 1
        edges = np.concatenate([[start - 1], have[have >= start], [self.end_tick]])
        cut = np.flatnonzero(np.diff(edges) > 1)
        spans = [(int(edges[i] + 1), int(edges[i + 1])) for i in cut]
        # the tail the unit's stream still holds unsent (its last packet, partly filled) is
        # not in the logbook: asking for it would find nothing
        return [s for s in spans if s[1] < self.end_tick or s[1] - s[0] > self.per_packet]

    def block(self, epoch: int) -> RawBlock:
        if not self.ticks:
            return RawBlock(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3)), epoch)
        t = np.concatenate(self.ticks)
        a = np.concatenate(self.acc)
        g = np.concatenate(self.gyr)
        t, first = np.unique(t, return_index=True)  # sorted, each tick once
        keep = t < self.end_tick
        return RawBlock(t[keep], a[first][keep], g[first][keep], epoch)


def walks(block: RawBlock, rate_hz: float, break_s: float = WALK_BREAK_S) -> list[RawBlock]:
    """The block cut where its ticks break for ``break_s`` or more."""
    if not len(block):
        return []
    cuts = np.flatnonzero(np.diff(block.ticks) >= break_s * rate_hz) + 1
    return [RawBlock(block.ticks[a:b], block.acc[a:b], block.gyr[a:b], block.epoch)
            for a, b in zip([0, *cuts], [*cuts, len(block)], strict=True)]


def stored_last_tick(store: Store, device: str, epoch: int) -> int | None:
    """The last tick the store holds of this boot of ``device`` (synced sessions)."""
    row = store._q("SELECT MAX(b.last_tick) FROM raw_blocks b JOIN sessions s ON "
                   "s.id = b.session_id WHERE s.device = ? AND s.source = 'sync' AND "
                   "b.epoch = ?", (device, epoch))
    v = row[0][0] if row else None
    return None if v is None else int(v)  # type: ignore[call-overload]


async def pull(link: BleLink, store: Store, device: str | None = None,
               settings: Settings | None = None, progress: bool = True,
               timeout_s: float = 3600.0) -> SyncResult:
    """Connect ``link``, pull what the unit recorded before this sync, store it (see the
    module docstring). ``device`` names the unit in the store (default: its name and
    address, as live sessions name it)."""
    info = await link.connect()
    dev = device or f"{info.name} ({info.address})"
    if link.clock is None:  # the unit streams only once it has taken a TIME_SYNC
        for _ in range(3):
            if await link.time_sync() is not None:
                break
    if link.clock is None:
        await link.disconnect()
        raise BeltlineError("the belt unit did not take the time sync: switch it off and on, "
                            "and sync again")
    clock = link.clock
    p = _Pull(link, stored_last_tick(store, dev, clock.boot_id), progress)
    p.on_state(LinkState("connected", time.monotonic(), clock))
    res = SyncResult(boot_id=clock.boot_id)
    t0 = time.monotonic()
    done = asyncio.Event()

    async def receive() -> None:
        async for item in link.notifications():
            if isinstance(item, Notification):
                p.on_packet(item)
            elif item.state != "closed":
                if item.state == "lost":
                    res.reconnects += 1  # (counted when it drops: it reconnects by itself)
                p.on_state(item)
            if p.failed or p.restarted:
                done.set()

    task = asyncio.get_running_loop().create_task(receive())
    try:
        await asyncio.wait_for(_drive(p, link, res, done), timeout_s)
    except TimeoutError as exc:
        raise BeltlineError(f"the sync did not finish within {timeout_s:.0f} s: run it again "
                            "(what arrived is kept by the next one)") from exc
    finally:
        res.seconds = time.monotonic() - t0
        await link.disconnect()
        try:
            await asyncio.wait_for(task, 10.0)
        except TimeoutError:
            task.cancel()
        if p.bar is not None:
            p.bar.close()
    if p.failed and not p.ticks:
        raise BeltlineError(p.failed)
    res.packets = p.packets
    res.bad_packets = p.rx.stats.rejected_total
    res.asked = len(p.asked)
    block = p.block(clock.boot_id)
    res.samples = len(block)
    fmt = RawFormat.wire(link.rate_hz)
    for w in walks(block, link.rate_hz):
        before = _held(store, dev, w)
        sid = exchange.store_walk(store, w, fmt, source="sync", name=f"walk from {dev}",
                                  device=dev, firmware=info.firmware,
                                  started_unix=clock.boot_unix + int(w.ticks[0]) / fmt.tick_hz,
                                  settings=settings, join_s=WALK_BREAK_S)
        held = store.session(sid).raw_samples
        res.walks.append(Walk(sid, held, held - before.get(sid, 0),
                              (int(w.ticks[-1]) - int(w.ticks[0]) + 1) / fmt.tick_hz, dev))
    return res


def _held(store: Store, device: str, block: RawBlock) -> dict[int, int]:
    """Raw samples held by the synced sessions of ``device``, by id (before a store)."""
    return {i.id: i.raw_samples for i in store.sessions()
            if i.device == device and i.source == "sync"}


async def _drive(p: _Pull, link: BleLink, res: SyncResult, done: asyncio.Event) -> None:
    """Until everything recorded before the sync has arrived (or cannot come): waits on the
    unit's status (backlog and replay flags) and asks again for what is missing."""
    while not done.is_set():
        await asyncio.sleep(0.1)
        if not p.connected or link.statuses <= p.statuses_at_connect + 1:
            continue  # (a status published after the connection, not one queued before)
        st = link.status
        if st is None or st.flags & (FLAG_BACKLOG | FLAG_REPLAY):
            continue
        if time.monotonic() - p.last_packet < 0.3:
            continue  # packets are still coming in: the status may have overtaken them
        spans = [s for s in p.holes() if s not in p.asked]
        if spans:
            if len(spans) > MAX_HOLES:
                spans = [*spans[:MAX_HOLES - 1], (spans[MAX_HOLES - 1][0], spans[-1][1])]
            for a, b in spans:
                try:
                    await link.send(control.encode(control.REPLAY, a & TICK_END, b & TICK_END))
                except (ConnectionError, OSError) as exc:
                    log.info("asking for ticks %d-%d failed (%s): again after the reconnect",
                             a, b, exc)
                    break
                p.asked.add((a, b))
            p.statuses_at_connect = link.statuses  # wait for a status after the requests
            continue
        covered = p.newest >= p.end_tick - p.per_packet
        if covered or time.monotonic() - p.last_packet >= IDLE_S:
            return
