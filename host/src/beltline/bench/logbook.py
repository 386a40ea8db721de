"""``beltline bench logbook``: what the unit's offline logbook spends per sample of raw.

The firmware's own path in CPython: ``stream.Stream`` (the unit's fusion and batching at its
MTU 247) turns the samples into the wire packets the unit would send, and ``logbook.Logbook``
keeps them as compact records in a file (the same format and code as under MicroPython: the
viper encoder and its plain-Python twin are tested to agree). Bytes per sample = slots written
x 256 / samples, on

- the virtual wearer's walks (``--minutes`` of healthy_walk and of demo, 104 Hz), and
- real walks: the lower-back walkers (``../shared/data/lowerback-walks``, C. Voisard et al.,
  IPOL 2023; Xsens at the fifth lumbar vertebra, 100 Hz), each trial's m/s² and rad/s turned
  into the unit's counts by the wire format's scales (``wire.ACC_LSB``, ``GYR_LSB``).

Hours of raw per MiB at 104 Hz follow, and the hours the filesystems of the BOM's boards hold
(MicroPython's partition tables, hardware/BOM.md). The encoder's CPU cost is measured under
the real ``micropython`` binary (viper against the same code as bytecode and against the CRC of
the same packets, in one run; the unix port on this machine, not the ESP32: the ratios carry).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from beltline.bench.fusion import micropython_binary
from beltline.firmware import logbook, stream

log = logging.getLogger(__name__)

RATE = 104.0
# vfs partitions of MicroPython's tables (ports/esp32/partitions-8MiB.csv, -16MiB.csv; the
# ESP32_GENERIC_S3 build uses the 8-MiB one), less the firmware's own files and the reserve
FILESYSTEMS = {"XIAO ESP32S3 (8 MB, partitions-8MiB.csv)": 0x4F0000,
               "XIAO ESP32S3 Plus (16 MB, partitions-16MiB.csv)": 0xCD0000}
FIRMWARE_FILES = 300 * 1024  # the .mpy files, settings, bonds (measured ~200 kB: margin)
SHARED = Path(__file__).resolve().parents[4] / ".." / "shared" / "data"
SCRIPT = Path(__file__).parent / "scripts" / "logbook_cost.py"


def bytes_per_sample(acc: np.ndarray, gyr: np.ndarray, rate_hz: float, folder: Path) -> tuple[
        float, int]:
    """(bytes per sample, samples) of the logbook keeping these samples."""
    s = stream.Stream(rate_hz, 247)
    path = folder / "lb.bin"
    if path.exists():
        path.unlink()
    lb = logbook.Logbook(str(path), slots=1 << 22)
    dt = 1.0 / rate_hz
    n = 0
    for a, g in zip(acc.tolist(), gyr.tolist(), strict=True):
        p = s.sample(g[0], g[1], g[2], a[0], a[1], a[2], dt)
        n += 1
        if p is not None:
            lb.append(p, 1)
    lb.seal()
    lb.close()
    return lb.written * logbook.SLOT / max(1, n), n


def _virtual(minutes: float, folder: Path) -> dict[str, float]:
    from beltline.sim import scenarios
    from beltline.sim.wearer import simulate

    out = {}
    for name in ("healthy_walk", "demo"):
        rec = simulate(scenarios.build(name, minutes, 1), RATE, seed=1, mount="back")
        out[name] = round(bytes_per_sample(rec.acc, rec.gyr, RATE, folder)[0], 3)
    return out


def _walkers(folder: Path, limit: int | None) -> dict[str, Any] | None:
    from beltline.sessions.readers import load_walker

    d = SHARED / "lowerback-walks"
    if not d.is_dir():
        log.warning("real walks skipped: %s not found (the shared data lives beside the repo)",
                    d)
        return None
    files = sorted(d.glob("*_lb.txt"))[:limit]
    total_b = total_n = 0.0
    per = []
    for f in tqdm(files, desc="walkers", unit="trial"):
        raw, _strikes, _span = load_walker(f)
        b, n = bytes_per_sample(raw.acc, raw.gyr, 100.0, folder)
        per.append(b)
        total_b += b * n
        total_n += n
    return {"trials": len(files), "samples": int(total_n),
            "bytes_per_sample": round(total_b / total_n, 3),
            "trial_min": round(min(per), 3), "trial_max": round(max(per), 3)}


def _cost() -> dict[str, float] | None:
    mp = micropython_binary()
    if mp is None:
        log.warning("CPU cost skipped: no micropython binary")
        return None
    fw = Path(logbook.__file__).parent
    env = dict(os.environ, MICROPYPATH=str(fw))
    out = subprocess.run([mp, str(SCRIPT)], capture_output=True, text=True, env=env,
                         timeout=600, check=True).stdout
    v = {k: float(x) for k, x in (line.split("=") for line in out.split())}
    v["bytecode_over_viper"] = round(v["bytecode_us_per_sample"] / v["viper_us_per_sample"], 1)
    v["viper_over_crc"] = round(v["viper_us_per_sample"] / v["crc_us_per_sample"], 2)
    return v


def main(minutes: float = 10.0, walkers: int | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="beltline-bench-logbook-") as d:
        folder = Path(d)
        virt = _virtual(minutes, folder)
        real = _walkers(folder, walkers)
    cost = _cost()
    worst = max([*virt.values(), *([real["bytes_per_sample"]] if real else [])])
    old = logbook.SLOT / 14  # one 14-sample packet per slot, before
    r: dict[str, Any] = {"virtual_bytes_per_sample": virt, "walkers": real,
                         "bytes_per_sample_worst": worst,
                         "bytes_per_sample_before": round(old, 3),
                         "hours_per_mib": round(2**20 / (worst * RATE * 3600), 3),
                         "hours_per_mib_before": round(2**20 / (old * RATE * 3600), 3),
                         "cost": cost}
    boards = {}
    for name, size in FILESYSTEMS.items():
        room = size - FIRMWARE_FILES - logbook.RESERVE
        boards[name] = {"logbook_mib": round(room / 2**20, 2),
                        "hours": round(room / (worst * RATE * 3600), 2),
                        "hours_before": round(room / (old * RATE * 3600), 2)}
    r["boards"] = boards
    for k, v in virt.items():
        print(f"{'virtual ' + k:<34}{v} bytes/sample (before: {old:.2f})")
    if real:
        print(f"{'real walks (' + str(real['trials']) + ' trials)':<34}"
              f"{real['bytes_per_sample']} bytes/sample (trials {real['trial_min']}-"
              f"{real['trial_max']})")
    print(f"{'hours per MiB at 104 Hz':<34}{r['hours_per_mib']} (before: "
          f"{r['hours_per_mib_before']})")
    for name, b in boards.items():
        print(f"{name:<52}{b['logbook_mib']} MiB: {b['hours']} h (before {b['hours_before']})")
    if cost:
        print(f"{'encoder under micropython':<34}{cost['viper_us_per_sample']} us/sample "
              f"(bytecode {cost['bytecode_us_per_sample']}: x{cost['bytecode_over_viper']}; "
              f"CRC {cost['crc_us_per_sample']})")
    print(json.dumps(r))
