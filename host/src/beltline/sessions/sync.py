"""``beltline sync``: the walks a belt unit recorded with no host, pulled from its logbook and
stored as sessions.

The unit logs its samples as compact, numbered records while no host listens
(``firmware/logbook.py``); the numbers run on across its boots, and each record carries the
boot id its ticks count in. The sync:

1. connects (pair, TIME_SYNC: this boot's clock), reads the unit's status: the oldest and the
   next record number its logbook holds (``log_first``, ``log_next``);
2. asks for a BULK transfer from the first record it has not got: the store's mark for this
   unit (``sync_marks``: where the last sync ended), or the oldest record held (a first sync,
   or a unit whose logbook was erased since). The unit stops streaming live and sends the
   records as fast as its stack takes them, as they are on flash; every record is CRC-checked
   (``link.wire``: a bad one is counted, never used);
3. the transfer ends on state: the unit's end marker (a record of no samples numbered with the
   first record not sent) arrives after the last record, in order. A drop in the middle: the
   link reconnects by itself and the sync asks again from the record after the newest it got.
   Records the unit could not read (CRC failed on flash) are missing between the records that
   came: counted in ``records_missing``, never asked for again;
4. cuts the samples of each boot into walks (a break of ``WALK_BREAK_S`` or more starts a new
   one; each boot is its own epoch) and stores each through ``exchange.store_walk`` (source
   "sync", analysed in batch). That path is idempotent: a walk already stored (the same
   device, boot and ticks) is joined and only samples it lacks are added, so syncing twice
   never duplicates a session or a sample; the mark then moves to the end marker's number, so
   the next sync transfers only what is new.

Wall time: this boot's ticks map to wall time through the TIME_SYNC. A boot before it never
met a host: its walks are placed as ending when the next boot's records begin (an estimate,
said so in the session's note).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from beltline.errors import BeltlineError, WireError
from beltline.firmware import control
from beltline.link.base import ClockPoint, LinkState, Notification
from beltline.link.ble import BleLink
from beltline.link.wire import decode
from beltline.pipeline.settings import Settings
from beltline.records import RawBlock, RawFormat
from beltline.sessions import exchange
from beltline.sessions.store import Store

log = logging.getLogger(__name__)

WALK_BREAK_S = 300.0  # a break this long between samples of one boot starts a new walk


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
    samples: int = 0  # distinct samples pulled
    packets: int = 0  # stream notifications received
    records: int = 0  # logbook records received (distinct)
    bytes: int = 0  # of which bytes
    bad_packets: int = 0  # refused by the wire format (CRC, layout)
    records_missing: int = 0  # numbers between the records that came (unreadable on flash)
    asked: int = 0  # BULK transfers asked for
    reconnects: int = 0
    seconds: float = 0.0  # from the first BULK asked to its end marker
    boot_id: int | None = None
    boots: int = 0  # boots whose records came
    first_record: int = 0  # the transfer's records [first_record, next_record)
    next_record: int = 0

    @property
    def rate_samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, object]:
        return {"sessions": [w.sid for w in self.walks], "samples": self.samples,
                "added": sum(w.added for w in self.walks), "packets": self.packets,
                "records": self.records, "bytes": self.bytes,
                "records_missing": self.records_missing,
                "bad_packets": self.bad_packets, "bulk_asked": self.asked,
                "reconnects": self.reconnects, "boots": self.boots,
                "first_record": self.first_record, "next_record": self.next_record,
                "seconds": round(self.seconds, 3),
                "rate_samples_per_s": round(self.rate_samples_per_s, 1)}


class _Pull:
    """The records of a BULK transfer as they arrive, and where to ask again from."""

    def __init__(self, start: int, end: int, progress: bool) -> None:
        self.start = start
        self.records: dict[int, tuple[int, int, np.ndarray, np.ndarray]] = {}
        self.end: int | None = None  # the end marker's number, once it came
        self.connected = True
        self.ask = True  # a BULK to send (at the start, after a reconnect)
        self.failed = ""
        self.packets = 0
        self.bytes = 0
        self.bad = 0
        self.newest = start - 1
        self.bar: tqdm[None] | None = None
        if progress:
            self.bar = tqdm(total=max(0, end - start), unit="record", desc="sync",
                            leave=False)

    @property
    def resume_from(self) -> int:
        """The first record not received (records before it came, or the unit could not
        read them: a hole here is asked for again once, after a drop)."""
        n = self.start
        while n in self.records:
            n += 1
        return n

    def on_state(self, item: LinkState) -> None:
        if item.state == "connected":
            self.connected = True
            if self.end is None:
                self.ask = True
        elif item.state == "lost":
            self.connected = False
        elif item.state == "failed":
            self.failed = item.reason

    def on_packet(self, item: Notification) -> None:
        self.packets += 1
        try:
            b = decode(item.payload)
        except WireError:
            self.bad += 1
            return
        if not b.record or b.boot_id is None:
            return  # a live packet (before the transfer began)
        if b.n == 0:
            self.end = b.record
            return
        if b.record < self.start or b.record in self.records or "ax" not in b.values:
            return  # (before the mark, again, or angles only: no raw samples to store)
        ticks = b.ticks
        acc = np.column_stack([b.values["ax"], b.values["ay"], b.values["az"]])
        gyr = np.column_stack([b.values["gx"], b.values["gy"], b.values["gz"]])
        self.records[b.record] = (b.boot_id, int(ticks[0]), acc, gyr)
        self.bytes += len(item.payload)
        if b.record > self.newest:
            if self.bar is not None:
                self.bar.update(b.record - self.newest)
            self.newest = b.record

    def blocks(self, clock: ClockPoint) -> list[tuple[int, int, RawBlock]]:
        """(first record number, boot id, samples) per boot, in record order (each tick once,
        ticks sorted); of this boot only what it recorded before the sync's TIME_SYNC (what
        the unit logs while the transfer runs is the desk it lies on)."""
        by_boot: dict[int, list[int]] = {}
        for no in sorted(self.records):
            by_boot.setdefault(self.records[no][0], []).append(no)
        out = []
        for boot, nos in by_boot.items():
            ts, accs, gyrs = [], [], []
            for no in nos:
                _b, t0, acc, gyr = self.records[no]
                ts.append(t0 + np.arange(len(acc), dtype=np.int64))
                accs.append(acc)
                gyrs.append(gyr)
            t = np.concatenate(ts)
            t, first = np.unique(t, return_index=True)
            if boot == clock.boot_id:
                first = first[t < clock.tick]
                t = t[t < clock.tick]
                if not len(t):
                    continue
            out.append((nos[0], boot, RawBlock(t, np.concatenate(accs)[first],
                                               np.concatenate(gyrs)[first], boot)))
        return sorted(out, key=lambda x: x[0])


def walks(block: RawBlock, rate_hz: float, break_s: float = WALK_BREAK_S) -> list[RawBlock]:
    """The block cut where its ticks break for ``break_s`` or more."""
    if not len(block):
        return []
    cuts = np.flatnonzero(np.diff(block.ticks) >= break_s * rate_hz) + 1
    return [RawBlock(block.ticks[a:b], block.acc[a:b], block.gyr[a:b], block.epoch)
            for a, b in zip([0, *cuts], [*cuts, len(block)], strict=True)]


def sync_mark(store: Store, device: str) -> int | None:
    """The first logbook record of ``device`` not yet pulled (None: never synced)."""
    row = store._q("SELECT next_record FROM sync_marks WHERE device = ?", (device,))
    return int(row[0][0]) if row else None  # type: ignore[call-overload]


def set_sync_mark(store: Store, device: str, next_record: int) -> None:
    with store.transaction() as db:
        db.execute("INSERT OR REPLACE INTO sync_marks VALUES (?,?,?)",
                   (device, next_record, time.time()))


async def pull(link: BleLink, store: Store, device: str | None = None,
               settings: Settings | None = None, progress: bool = True,
               timeout_s: float = 3600.0) -> SyncResult:
    """Connect ``link``, pull what the unit recorded since the last sync, store it (see the
    module docstring). ``device`` names the unit in the store (default: its name and
    address, as live sessions name it)."""
    info = await link.connect()
    dev = device or f"{info.name} ({info.address})"
    if link.clock is None:  # the unit takes commands once it has taken a TIME_SYNC
        for _ in range(3):
            if await link.time_sync() is not None:
                break
    st = link.status
    if link.clock is None or st is None:
        await link.disconnect()
        raise BeltlineError("the belt unit did not take the time sync: switch it off and on, "
                            "and sync again")
    clock = link.clock
    mark = sync_mark(store, dev)
    start = st.log_first if mark is None or mark > st.log_next else max(mark, st.log_first)
    if mark is not None and mark < st.log_first:
        log.warning("the unit's logbook has overwritten records %d-%d since the last sync",
                    mark, st.log_first - 1)
    if mark is not None and mark > st.log_next:
        log.warning("the unit's logbook restarted (record %d, the store has up to %d): "
                    "pulling all it holds", st.log_next, mark)
    p = _Pull(start, st.log_next, progress)
    res = SyncResult(boot_id=clock.boot_id, first_record=start)
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
            if p.failed or p.end is not None:
                done.set()

    task = asyncio.get_running_loop().create_task(receive())
    try:
        await asyncio.wait_for(_drive(p, link, res, done), timeout_s)
    except TimeoutError as exc:
        raise BeltlineError(f"the sync did not finish within {timeout_s:.0f} s: run it again "
                            "(what arrived is kept by the next one)") from exc
    finally:
        res.seconds = time.monotonic() - t0
        try:
            if p.end is not None and link.client is not None:
                await link.send(control.encode(control.BULK_STOP))
        except (ConnectionError, OSError):
            pass
        await link.disconnect()
        try:
            await asyncio.wait_for(task, 10.0)
        except TimeoutError:
            task.cancel()
        if p.bar is not None:
            p.bar.close()
    if p.failed and not p.records:
        raise BeltlineError(p.failed)
    res.packets, res.bad_packets, res.records = p.packets, p.bad, len(p.records)
    res.bytes = p.bytes
    end = p.end if p.end is not None else p.resume_from
    res.next_record = end
    res.records_missing = max(0, end - start - len(p.records))
    fmt = RawFormat.wire(link.rate_hz)
    blocks = p.blocks(clock)
    res.boots = len(blocks)
    res.samples = sum(len(b) for _n, _b, b in blocks)
    # wall time: this boot from its TIME_SYNC; each earlier boot ends where the next begins
    start_unix: dict[int, float] = {}
    note: dict[int, str] = {}
    nxt = clock.boot_unix
    for _no, boot, b in reversed(blocks):
        if boot == clock.boot_id:
            start_unix[boot] = clock.boot_unix
        else:
            span = (int(b.ticks[-1]) + 1) / fmt.tick_hz
            start_unix[boot] = nxt - span
            note[boot] = ("recorded in an earlier power-on of the unit: its wall time is an "
                          "estimate (the walk is placed as ending when the next one began)")
        nxt = start_unix[boot] + int(b.ticks[0]) / fmt.tick_hz
    for _no, boot, block in blocks:
        for w in walks(block, link.rate_hz):
            before = _held(store, dev)
            sid = exchange.store_walk(
                store, w, fmt, source="sync", name=f"walk from {dev}", device=dev,
                firmware=info.firmware,
                started_unix=start_unix[boot] + int(w.ticks[0]) / fmt.tick_hz,
                settings=settings, join_s=WALK_BREAK_S)
            if boot in note and not store.session(sid).note:
                with store.transaction() as db:
                    db.execute("UPDATE sessions SET note=? WHERE id=?", (note[boot], sid))
            held = store.session(sid).raw_samples
            res.walks.append(Walk(sid, held, held - before.get(sid, 0),
                                  (int(w.ticks[-1]) - int(w.ticks[0]) + 1) / fmt.tick_hz, dev))
    if p.end is not None:  # everything up to the end marker is in the store
        set_sync_mark(store, dev, p.end)
    return res


def _held(store: Store, device: str) -> dict[int, int]:
    """Raw samples held by the synced sessions of ``device``, by id (before a store)."""
    return {i.id: i.raw_samples for i in store.sessions()
            if i.device == device and i.source == "sync"}


async def _drive(p: _Pull, link: BleLink, res: SyncResult, done: asyncio.Event) -> None:
    """Until the end marker has come (or the link failed): asks for the BULK transfer, and
    again from where it was after a reconnect."""
    while not done.is_set():
        if p.ask and p.connected and link.clock is not None:
            frm = p.resume_from
            try:
                await link.send(control.encode(control.BULK, frm))
                p.ask = False
                res.asked += 1
                log.debug("BULK from record %d", frm)
            except (ConnectionError, OSError) as exc:
                log.info("asking for records from %d failed (%s): again after the reconnect",
                         frm, exc)
                p.connected = False
        try:
            await asyncio.wait_for(done.wait(), 0.1)  # (a poll of the flags above, not a
        except TimeoutError:  # window: the end is the marker's arrival)
            pass
