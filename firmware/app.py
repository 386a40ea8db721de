"""The belt unit's application: small tasks on one asyncio loop (``main.py`` builds the
hardware and calls ``App.run``; the tests build fakes and call the same).

    sampler  every ``poll_ms``: drain the IMU FIFO -> filter -> pelvis angles -> alerts ->
             batch -> notify, or into the logbook when no host listens or the stack is full
    replay   on a REPLAY command: logbook packets as notifications, paced by the stack
    status   once a second: status and battery characteristics, low-battery behaviour
Timing comes from the IMU: each FIFO sample is one tick of its output data rate; the poll
period only sets how often the FIFO is emptied (it holds seconds of data).
"""

import asyncio
import gc
import struct
import time

import alerts
import config
import control
import protocol
import stream
import wire

FIRMWARE = "0.1.0"
LOW_BATTERY_PCT = 10
RECENT = 12  # packets kept after sending: more than the stack's queue holds


class App:
    def __init__(self, imu, periph, battery, motor, wdt, logbook, settings_path,
                 sleep_ms=None, poll_ms=40):
        self.imu = imu
        self.periph = periph
        self.battery = battery
        self.motor = motor
        self.wdt = wdt
        self.logbook = logbook
        self.settings_path = settings_path
        self.cfg = config.load(settings_path)
        self.sleep_ms = sleep_ms or asyncio.sleep_ms
        self.poll_ms = poll_ms
        # sized for the MTU the unit asks for; while no host has agreed to it, packets of that
        # size go to the logbook (which holds them) rather than being cut by the stack
        self._sized_for = gatt_mtu = 247
        self.stream = stream.Stream(imu.rate_hz, gatt_mtu, self.cfg["mount"])
        # the alert rules see each poll's newest angles: they run at the poll rate
        self.alerts = alerts.Alerts(1000.0 / poll_ms, self.cfg["drop_deg"],
                                    self.cfg["tilt_deg"], self.cfg["dwell_s"])
        self.dt = 1.0 / imu.rate_hz
        self.samples = 0
        self.packets = 0
        self.logged = 0
        self.replayed = 0
        self.command_errors = 0
        self.commands = 0
        self.replay_req = None
        self.backlog = None  # [first tick, end tick) of packets logged since the last replay
        self._alerting = False
        self._buzzed = 0
        self.time_sync = (0, 0)  # (host ms, device tick) of the last TIME_SYNC
        self.running = True
        self.loop_us = []
        self.mem_free_min = 1 << 30
        self.mem_series = []
        self.polls = 0  # free heap after a collection, every 250 polls
        self.alloc_bytes = 0
        self.alloc_samples = 0
        self.measure_alloc = 50  # polls whose sample path is measured (no collection inside)
        self.battery_pct = 100
        self._recent = [bytearray(256) for _ in range(RECENT)]  # byte 0: length (0 = empty)
        self._recent_i = 0
        periph.on_write = self._on_write

    # --- control ---------------------------------------------------------------------------
    def _on_write(self, data):
        cmd = control.parse(bytes(data))
        if cmd is None:
            self.command_errors += 1
            return
        self.commands += 1
        c, v = cmd
        cfg = self.cfg
        if c == control.CALIBRATE:
            cfg["mount"] = _level(self.stream.attitude.up())
            self.stream.mount = list(cfg["mount"])
        elif c == control.SET_MOUNT:
            cfg["mount"] = list(v)
            self.stream.mount = list(v)
        elif c == control.THRESHOLDS:
            cfg["drop_deg"], cfg["tilt_deg"], cfg["dwell_s"] = v
            self.alerts.set_thresholds(*v)
        elif c == control.MODE:
            cfg["mode"] = v[0]
        elif c == control.HAPTICS:
            cfg["haptics"] = v[0]
        elif c == control.STREAM:
            cfg["full"] = v[0]
            self._resize()
        elif c == control.TIME_SYNC:
            self.time_sync = (v[0], self.stream.tick & 0xFFFFFFFF)
        elif c == control.REPLAY:
            self.replay_req = v
        elif c == control.REPLAY_STOP:
            self.replay_req = None
        if c in (control.CALIBRATE, control.SET_MOUNT, control.THRESHOLDS, control.MODE,
                 control.HAPTICS, control.STREAM):
            config.save(self.settings_path, cfg)

    def _resize(self):
        kind = None if self.cfg["full"] else wire.KIND_ANGLES
        self._sized_for = self.periph.mtu
        last = self.stream.set_mtu(self.periph.mtu, kind)
        if last is not None:
            self._route(last)

    # --- sample path -------------------------------------------------------------------------
    def _route(self, packet):
        self.packets += 1
        if self.periph.ready and self.periph.notify(packet):
            # the stack holds it until the radio sends it; if the link drops first it is
            # lost there, so the last few sent packets are kept to go into the logbook then
            slot = self._recent[self._recent_i]
            n = len(packet)
            slot[0] = n
            slot[1:1 + n] = packet
            self._recent_i = (self._recent_i + 1) % RECENT
            return
        self._log(packet)  # no host, or the stack is full: keep it, and send it later

    def _log(self, packet):
        self.logbook.append(packet)
        self.logged += 1
        tick = struct.unpack_from("<I", packet, 4)[0]
        size = 16 if packet[1] & 0x0F == wire.KIND_FULL else 4
        end = tick + ((len(packet) - 10) // size) * ((packet[1] >> 4) + 1)
        b = self.backlog
        if b is None:
            self.backlog = [tick, end]
        else:
            b[0] = min(b[0], tick)
            b[1] = max(b[1], end)

    def _keep_recent(self):
        for k in range(RECENT):
            slot = self._recent[(self._recent_i + k) % RECENT]
            if slot[0]:
                self._log(memoryview(slot)[1:1 + slot[0]])
                slot[0] = 0

    def step(self):
        """One poll: drain the FIFO and push every sample through. Returns samples done."""
        if self.periph.dropped:
            self.periph.dropped = False
            self._keep_recent()
        if self.periph.mtu_changed:
            self.periph.mtu_changed = False
            if self.periph.mtu != self._sized_for:
                self._resize()
        imu = self.imu
        n = imu.drain()
        ax, ay, az, gx, gy, gz = imu.ax, imu.ay, imu.az, imu.gx, imu.gy, imu.gz
        s = self.stream
        a = self.alerts
        dt = self.dt
        measure = self.measure_alloc and n and self.samples > 200
        if measure:  # the heap used by the sample path alone (not the driver's reads)
            gc.collect()
            gc.disable()
            a0 = gc.mem_alloc()
        for i in range(n):
            p = s.sample(gx[i], gy[i], gz[i], ax[i], ay[i], az[i], dt)
            if p is not None:
                self._route(p)
        if measure:
            self.alloc_bytes += gc.mem_alloc() - a0
            self.alloc_samples += n
            gc.enable()
            self.measure_alloc -= 1
        if n:
            # the alert rules see each poll's newest angles (25 Hz at a 40-ms poll)
            on = a.update(s.roll, s.pitch)
            if on and self.cfg["mode"] == 1 and self.cfg["haptics"]:
                # two pulses when an alert starts, and again every 30 s while it lasts
                if not self._alerting or self.samples - self._buzzed >= 30 * imu.rate_hz:
                    self.motor.pattern(2)
                    self._buzzed = self.samples
            self._alerting = on
        self.samples += n
        return n

    async def sampler(self):
        polls = 0
        while self.running:
            t0 = time.ticks_us()
            self.step()
            lu = self.loop_us
            if len(lu) < 2048:
                lu.append(time.ticks_diff(time.ticks_us(), t0))
            else:  # a fixed-size window: the newest loop times, oldest overwritten
                lu[polls % 2048] = time.ticks_diff(time.ticks_us(), t0)
            polls += 1
            self.polls = polls
            if polls % 250 == 0:  # live memory: what is left after a collection
                gc.collect()
                free = gc.mem_free()
                if free < self.mem_free_min:
                    self.mem_free_min = free
                if len(self.mem_series) < 64:
                    self.mem_series.append(free)
                else:
                    self.mem_series[-1] = free
            self.wdt.feed()
            self.motor.tick(self.poll_ms)
            await self.sleep_ms(self.poll_ms)

    async def replayer(self):
        """Sends logbook packets: what this unit logged itself (no host, a full stack) as soon
        as a host is ready again, and any span the host asks for. Paced (``REPLAY_GAP_MS``
        between packets) so the live stream keeps its share of the radio."""
        while self.running:
            req = self.replay_req
            if req is None and self.backlog is not None:
                req = (self.backlog[0], self.backlog[1])
            if req is None or not self.periph.ready:
                await self.sleep_ms(100)
                continue
            if req is self.replay_req:
                self.replay_req = None
            else:
                self.backlog = None
            for packet in self.logbook.replay(req[0], req[1]):
                while self.periph.ready and not self.periph.notify(packet):
                    await self.sleep_ms(30)  # the stack is full: wait for it, lose nothing
                if not self.periph.ready:
                    break
                self.replayed += 1
                await self.sleep_ms(protocol.REPLAY_GAP_MS)

    async def status(self):
        while self.running:
            pct = self.battery.percent()
            self.battery_pct = pct
            p = self.periph
            flags = (1 if p.connected else 0) | (2 if pct < LOW_BATTERY_PCT else 0) | \
                (4 if self._alerting else 0)
            p.publish_status((wire.VERSION, 0, 1, pct, self.cfg["mode"],
                              int(self.imu.rate_hz * 100) & 0xFFFF, self.imu.overruns,
                              p.notify_enomem + p.notify_stale, self.logged, flags,
                              self.time_sync[0], self.time_sync[1]))
            p.publish_battery(pct)
            if pct < LOW_BATTERY_PCT and self.cfg["mode"] == 1:
                self.cfg["mode"] = 0  # save the last charge for data: no more buzzing
            await self.sleep_ms(1000)

    async def main(self, stop_after_samples=None):
        tasks = [asyncio.create_task(self.sampler()), asyncio.create_task(self.replayer()),
                 asyncio.create_task(self.status())]
        while self.running:
            await self.sleep_ms(self.poll_ms)
            if stop_after_samples is not None and self.samples >= stop_after_samples:
                self.running = False
        for t in tasks:
            t.cancel()
        last = self.stream.flush()
        if last is not None:
            self._route(bytes(last))

    def run(self, stop_after_samples=None):
        asyncio.run(self.main(stop_after_samples))


def _level(up):
    """The rotation taking the current up direction to z by the shortest turn: the device's
    own neutral when the host has not sent a full pelvis frame."""
    ux, uy, uz = up
    c = uz
    if c < -0.999999:
        return [1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, -1.0]
    kx, ky = uy, -ux  # axis (up x z), |k| = sin
    f = 1.0 / (1.0 + c)
    return [c + kx * kx * f, kx * ky * f, ky,
            kx * ky * f, c + ky * ky * f, -kx,
            -ky, kx, c]
