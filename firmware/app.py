"""The belt unit's application: small tasks on one asyncio loop (``main.py`` builds the
hardware and calls ``App.run``; the tests build fakes and call the same).

    sampler  every ``poll_ms``: drain the IMU FIFO -> filter -> pelvis angles -> alerts ->
             batch -> notify, or into the logbook when no host listens or the stack is full;
             with no host, only while the belt is worn (``wear.py``: the unit starts
             recording by itself when worn and stops when left still; the ``PRETRIGGER_S``
             before a start are kept in RAM and logged with it, so no first step is lost);
             with no host and nothing to buzz, it light-sleeps between FIFO reads and
             advertises in windows (``doze.py``)
    control  the control writes the BLE handler queued: parsed, range-checked, applied, saved
    replay   the logbook's unsent packets, in order, once a host is back (and any span a
             REPLAY command asks for), paced by the stack
    status   once a second: status and battery characteristics, low-battery behaviour, the
             pairing window, and a link that never paired is let go
Timing comes from the IMU: each FIFO sample is one tick of its output data rate; the poll
period only sets how often the FIFO is emptied (it holds seconds of data).

Nothing a host sends can stop the sampler: every command is checked before it changes
anything (``control.parse``), a command that still fails is counted and dropped, and the
settings file is checked value by value on boot (``config.load``), so a bad value cannot come
back after a watchdog reset. Once the stack refuses a packet (or no host listens), packets go
to the logbook and keep going there until the replay has sent everything in order: the host
sees one ordered stream, late but whole.
"""

import asyncio
import gc
import os
import struct
import time

import alerts
import config
import control
import doze
import protocol
import stream
import wear
import wire

FIRMWARE = "0.2.0"
LOW_BATTERY_PCT = 10
RECENT = 12  # packets kept after sending: more than the stack's queue holds
PAIRING_WINDOW_S = 120  # new bonds are accepted this long after power-on or a button press
SECURE_WITHIN_S = 30  # a central that has not paired (or re-encrypted) by then is let go
MAX_STEP_FAILURES = 25  # consecutive failed polls before the watchdog may reset the unit
# packets kept in RAM while not recording, logged when a recording starts: longer than the
# longest start decision (config.START_S) plus a window, so the first steps are in the record
PRETRIGGER_S = 8.0


class App:
    def __init__(self, imu, periph, battery, motor, wdt, logbook, settings_path,
                 sleep_ms=None, poll_ms=40, button=None, secure_within_s=SECURE_WITHIN_S,
                 lightsleep=None):
        self.imu = imu
        self.periph = periph
        self.battery = battery
        self.motor = motor
        self.wdt = wdt
        self.logbook = logbook
        self.settings_path = settings_path
        self.cfg, self.cfg_refused = config.load(settings_path)
        self.sleep_ms = sleep_ms or asyncio.sleep_ms
        self.poll_ms = poll_ms
        # blocking light sleep (machine.lightsleep on the board): None never dozes
        self.lightsleep = lightsleep
        self.doze = doze.Doze(imu.rate_hz, imu.FIFO_SAMPLES)
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
        self.command_errors = 0  # refused by control.parse (malformed, out of range)
        self.command_failures = 0  # passed the checks but failed to apply (flash full...)
        self.commands = 0
        self.step_failures = 0
        self._failing = 0
        self.replay_req = None
        self.replaying = False  # a REPLAY span is asked for or being sent
        self.bulk_from = None  # a BULK transfer asked for: from this record number
        self.bulking = False  # ... being sent
        self.bulk_sent = 0  # records sent by BULK transfers
        self._end_buf = bytearray(32)
        self._burst = 0  # records sent by a BULK transfer since it last yielded
        self.boot_id = struct.unpack("<I", os.urandom(4))[0]
        self.boot_no = logbook.next_no  # this boot's first logbook record
        self.backlog_no = None  # first logbook record not sent yet (everything logs while set)
        self._replay_buf = bytearray(256)
        self.button = button
        self._button_was = 1
        self.pair_until = int(PAIRING_WINDOW_S * imu.rate_hz)  # in samples since power-on
        self.pairing_windows = 1
        self._insecure_since = None
        self.secure_within_s = secure_within_s
        self.kicked = 0
        self._alerting = False
        self._buzzed = 0
        self.buzzes = 0  # BUZZ commands that buzzed
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
        c = self.cfg
        self.wear = wear.Wear(imu.rate_hz, c["still_dps"], c["worn_dps"], c["start_s"],
                              c["stop_s"])
        # sized for full-sample packets at the unit's MTU (angle-only ones cover more time)
        held = int(PRETRIGGER_S * imu.rate_hz / wire.capacity(gatt_mtu, wire.KIND_FULL)) + 2
        self._pre = [bytearray(gatt_mtu) for _ in range(held)]  # byte 0: length
        self._pre_i = 0
        self._pre_n = 0
        periph.can_bond = self.can_bond

    # --- pairing ---------------------------------------------------------------------------
    def can_bond(self):
        """A new bond may be made: within the pairing window."""
        return self.samples < self.pair_until

    def _poll_button(self):
        b = self.button
        if b is None:
            return
        v = b.value()
        if v == 0 and self._button_was:  # pressed (to ground, pulled up): a new window
            self.pair_until = self.samples + int(PAIRING_WINDOW_S * self.imu.rate_hz)
            self.pairing_windows += 1
        self._button_was = v

    @property
    def refused(self):
        p = self.periph
        return self.command_errors + p.refused_unpaired + p.command_overflow

    # --- control ---------------------------------------------------------------------------
    async def controller(self):
        while self.running:
            data = self.periph.take_command()
            if data is None:
                await self.sleep_ms(self.poll_ms)
                continue
            try:
                self.apply(data)
            except Exception:
                self.command_failures += 1

    def apply(self, data):
        """Parse, check and apply one control command (the control task calls this)."""
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
            self.alerts.reset()  # angles in the new frame: start judging afresh
        elif c == control.SET_MOUNT:
            if list(v) != self.stream.mount:  # the same again (a reconnect) changes nothing
                self.alerts.reset()
            cfg["mount"] = list(v)
            self.stream.mount = list(v)
        elif c == control.THRESHOLDS:
            if tuple(v) != (cfg["drop_deg"], cfg["tilt_deg"], cfg["dwell_s"]):
                self.alerts.reset()
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
            self.periph.listening = True
            self.publish_status()  # the host reads the pair back at once
        elif c == control.REPLAY:
            self.replay_req = v
            self.replaying = True
        elif c == control.REPLAY_STOP:
            self.replay_req = None
        elif c == control.BULK:
            self.bulk_from = v[0]
        elif c == control.BULK_STOP:
            self.bulk_from = None
            self.bulking = False
        elif c == control.BUZZ:
            # a rep the host flagged: queued for the motor, which the sampler's tick drives
            # (nothing here waits); silent in tracking mode or with haptics off
            if cfg["mode"] == 1 and cfg["haptics"]:
                self.motor.pattern(v[0])
                self.buzzes += 1
        elif c == control.AUTO_RECORD:
            cfg["auto"], cfg["stop_s"] = v[0], v[1]
            self.wear.set(cfg["still_dps"], cfg["worn_dps"], cfg["start_s"], v[1])
            if not v[0]:
                self._log_held()  # everything is logged from now on: the held seconds first
        if c in (control.CALIBRATE, control.SET_MOUNT, control.THRESHOLDS, control.MODE,
                 control.HAPTICS, control.STREAM, control.AUTO_RECORD):
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
        if self._pre_n and self.periph.ready:
            # a host is here: the seconds held in RAM go first (logged, replayed in order)
            self._log_held()
        if self.backlog_no is None and self.periph.ready and self.periph.notify(packet):
            # the stack holds it until the radio sends it; if the link drops first it is
            # lost there, so the last few sent packets are kept to go into the logbook then
            slot = self._recent[self._recent_i]
            n = len(packet)
            slot[0] = n
            slot[1:1 + n] = packet
            self._recent_i = (self._recent_i + 1) % RECENT
            return
        if not self.periph.ready and self.cfg["auto"] and not self.wear.recording:
            self._hold(packet)  # no host and not worn: logged only if a recording starts
            return
        # no host, the stack is full, or the logbook still holds unsent packets: keep it, in
        # order after them (the replay sends it)
        self._log(packet)

    def _hold(self, packet):
        slot = self._pre[self._pre_i]
        n = len(packet)
        slot[0] = n
        slot[1:1 + n] = packet
        self._pre_i = (self._pre_i + 1) % len(self._pre)
        if self._pre_n < len(self._pre):
            self._pre_n += 1

    def _recording_changed(self):
        if self.wear.recording:  # started: the seconds before it are in the record too
            self._log_held()
        # stopped: what was logged stays; from now on packets are held in RAM

    def _log_held(self):
        pre = self._pre
        k = len(pre)
        for j in range(self._pre_n):  # oldest first: the record is in order
            slot = pre[(self._pre_i - self._pre_n + j) % k]
            self._log(memoryview(slot)[1:1 + slot[0]])
        self._pre_n = 0

    def _log(self, packet):
        no = self.logbook.next_no  # (the open record's number: it is written when full)
        self.logbook.append(packet, self.boot_id)
        self.logged += 1
        if self.backlog_no is None:
            self.backlog_no = no

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
            if self.backlog_no is not None:  # replayed packets the stack held are lost too
                self.backlog_no = max(self.boot_no, self.backlog_no - RECENT)
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
        md = self.wear
        raw = self.doze.state != doze.AWAKE  # dozing: no filter on the unit (doze.py)
        for i in range(n):
            x = gx[i]
            y = gy[i]
            z = gz[i]
            if raw:
                p = s.sample_raw(x, y, z, ax[i], ay[i], az[i])
            else:
                p = s.sample(x, y, z, ax[i], ay[i], az[i], dt)
            if md.add(x, y, z):
                self._recording_changed()
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
            try:
                # (after a doze the FIFO holds more than one batch: drain it all)
                while self.step() >= self.imu.MAX_BATCH:
                    pass
                self._poll_button()
                self._failing = 0
            except Exception:
                self.step_failures += 1
                self._failing += 1
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
            if self._failing < MAX_STEP_FAILURES:  # a loop that only fails lets the dog bite
                self.wdt.feed()
            self.motor.tick(self.poll_ms)
            if self.lightsleep is not None and self._dozed():
                await self.sleep_ms(0)  # the other tasks' turn: their time has passed too
            else:
                await self.sleep_ms(self.poll_ms)

    def _dozed(self):
        """This poll's doze state (``doze.py``), the radio's advertising to match; light
        sleep until the next FIFO read when dozing. True if it slept."""
        p = self.periph
        m = self.motor
        c = self.cfg
        quiet = not self.can_bond() and not (c["mode"] == 1 and c["haptics"]) \
            and not m.pulses and not m.on_ms and not self.bulking \
            and self.bulk_from is None and not self.replaying
        was = self.doze.state
        state = self.doze.plan(self.samples, quiet, p.connected)
        if state != was:
            if state == doze.SLEEP:
                p.stop_advertising()
            elif was == doze.SLEEP and not p.connected:
                p.advertise()
            if state == doze.AWAKE:
                # the filter skipped the dozing samples, and what the alert rules gathered at
                # the doze's poll rate is not evidence
                self.stream.restart_filter()
                self.alerts.reset()
        if state != doze.SLEEP:
            return False
        self.lightsleep(self.doze.poll_ms)
        self.doze.slept_ms += self.doze.poll_ms
        self.doze.sleeps += 1
        return True

    async def replayer(self):
        """Sends logbook records: every record this boot logged but has not sent (no host, a
        full stack), in order, as soon as a host is ready; any span a REPLAY command asks
        for; and a BULK transfer (everything from a record number, every boot, as fast as
        the stack takes it). Paced (``REPLAY_GAP_MS`` between records, but for BULK) and
        waiting whenever the stack is full, so nothing is lost and the live stream keeps its
        share of the radio."""
        p = self.periph
        lb = self.logbook
        while self.running:
            if not p.ready:
                await self.sleep_ms(100)
                continue
            if self.bulk_from is not None:
                await self._bulk()
                continue
            req = self.replay_req
            if req is not None:
                self.replay_req = None
                self.replaying = True  # (the status says so until the span has gone out)
                if lb.pending:
                    lb.seal()  # (the span may reach into the open record)
                for packet in lb.replay(req[0], req[1], self.boot_id, self.boot_no):
                    if not await self._send_logged(packet) or self.bulk_from is not None:
                        break
                self.replaying = self.replay_req is not None
                continue
            if self.backlog_no is None:
                await self.sleep_ms(100)
                continue
            end = lb.next_no
            whole = True
            for no, packet in lb.records(self.backlog_no, end):
                if not await self._send_logged(packet) or self.bulk_from is not None:
                    whole = False
                    break
                if self.backlog_no is not None:
                    self.backlog_no = no + 1
            if whole and self.backlog_no is not None and self.backlog_no < end:
                self.backlog_no = end  # what was left was unreadable (counted) or overwritten
            if self.backlog_no is not None and self.backlog_no >= lb.next_no and p.ready:
                if lb.pending:
                    lb.seal()  # the open record's samples go out next, then live again
                else:
                    self.backlog_no = None  # caught up: live again

    async def _bulk(self):
        """A BULK transfer: records from ``bulk_from`` to the newest (the open one sealed at
        the end), then an end marker numbered with the first record not sent. Live packets
        go to the logbook meanwhile (they are sent as part of it): nothing is streamed live,
        so the stack's buffers are all the transfer's."""
        lb = self.logbook
        no = self.bulk_from
        self.bulk_from = None
        self.bulking = True
        if self.backlog_no is None:
            self.backlog_no = lb.next_no  # everything logs until the transfer is done
        while self.bulking:
            end = lb.next_no
            if no >= end:
                if lb.pending:
                    lb.seal()
                    continue
                break
            for rno, rec in lb.records(no, end):
                if not await self._send_logged(rec, 0):
                    self.bulking = False
                    return  # the link dropped: the host asks again from what it has
                no = rno + 1
                self.bulk_sent += 1
                if self.bulk_from is not None or not self.bulking:  # asked again, stopped
                    return
            no = max(no, end)  # (past records unreadable or overwritten: counted)
        if self.bulking and await self._send_logged(
                lb.end_marker(self._end_buf, no, self.boot_id), 0):
            # everything up to the newest has gone (what lay before the asked record the
            # host has): live again, nothing of it sent twice
            self.backlog_no = None if not lb.pending else lb.next_no
        self.bulking = False

    async def _send_logged(self, packet, gap_ms=protocol.REPLAY_GAP_MS):
        # the logbook's buffer is reused by the next append: send from a copy
        n = len(packet)
        buf = self._replay_buf
        buf[:n] = packet
        mv = memoryview(buf)[:n]
        p = self.periph
        wait = protocol.BULK_RETRY_MS if gap_ms == 0 else 30
        while p.ready and not p.notify(mv):
            self._burst = 0
            await self.sleep_ms(wait)  # the stack is full: wait for it, lose nothing
        if not p.ready:
            return False
        self.replayed += 1
        if gap_ms == 0:  # BULK: straight on while the stack takes them (a few ms at most),
            self._burst += 1  # then let the sampler run
            if self._burst < protocol.BULK_BURST:
                return True
            self._burst = 0
        await self.sleep_ms(gap_ms)
        return True

    def publish_status(self):
        p = self.periph
        pct = self.battery_pct
        flags = (protocol.FLAG_CONNECTED if p.connected else 0) | \
            (protocol.FLAG_LOW_BATTERY if pct < LOW_BATTERY_PCT else 0) | \
            (protocol.FLAG_ALERT if self._alerting else 0) | \
            (protocol.FLAG_PAIRING if self.can_bond() else 0) | \
            (protocol.FLAG_SECURE if p.secure else 0) | \
            (protocol.FLAG_BACKLOG if self.backlog_no is not None else 0) | \
            (protocol.FLAG_REPLAY if self.replaying else 0) | \
            (protocol.FLAG_BULK if self.bulking or self.bulk_from is not None else 0) | \
            (protocol.FLAG_RECORDING if self.wear.recording or not self.cfg["auto"] else 0)
        p.publish_status((wire.VERSION, _FW[0], _FW[1], pct, self.cfg["mode"],
                          int(self.imu.rate_hz * 100) & 0xFFFF, self.imu.overruns,
                          p.notify_enomem + p.notify_stale, self.logged, flags,
                          self.time_sync[0], self.time_sync[1], self.boot_id,
                          self.refused & 0xFFFFFFFF, self.logbook.first_no,
                          self.logbook.next_no + (1 if self.logbook.pending else 0)))

    async def status(self):
        p = self.periph
        limit = int(self.secure_within_s * self.imu.rate_hz)
        while self.running:
            self.battery_pct = self.battery.percent()
            self.publish_status()
            p.publish_battery(self.battery_pct)
            if self.battery_pct < LOW_BATTERY_PCT and self.cfg["mode"] == 1:
                self.cfg["mode"] = 0  # save the last charge for data: no more buzzing
            if p.connected and not p.secure:  # a central that never pairs: let it go
                if self._insecure_since is None:
                    self._insecure_since = self.samples
                elif self.samples - self._insecure_since > limit:
                    self.kicked += 1
                    self._insecure_since = None
                    p.ble.gap_disconnect(p.conn)
            else:
                self._insecure_since = None
            await self.sleep_ms(1000)

    async def main(self, stop_after_samples=None):
        tasks = [asyncio.create_task(self.sampler()), asyncio.create_task(self.replayer()),
                 asyncio.create_task(self.status()), asyncio.create_task(self.controller())]
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


_FW = tuple(int(x) for x in FIRMWARE.split(".")[:2])


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
