"""The virtual device: the firmware's own sample loop (``beltline.firmware.stream``) over a
virtual wearer's recording, yielding exactly the packets the belt unit would notify, with
optional link faults injected for tests and demos."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from beltline.firmware.stream import Stream
from beltline.sim.wearer import Recording


@dataclass(frozen=True)
class Faults:
    """Link faults: probabilities per packet, and one disconnect window (device seconds)."""

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    disconnect_at_s: float | None = None
    disconnect_for_s: float = 0.0
    clock_drift_ppm: float = 0.0  # host clock vs device clock


def packets(rec: Recording, mtu: int = 247, faults: Faults | None = None,
            seed: int = 0) -> Iterator[tuple[float, bytes]]:
    """(device time s, packet bytes) for ``rec`` streamed at ``mtu``, made as they are
    consumed (the time is the host's when ``faults.clock_drift_ppm`` is set)."""
    faults = faults or Faults()
    rng = np.random.default_rng(seed)
    step = float(np.median(np.diff(rec.t)))
    stream = Stream(1.0 / step, mtu)
    dts = np.diff(rec.t, prepend=rec.t[0] - step).tolist()
    g = rec.gyr.tolist()
    a = rec.acc.tolist()
    ts = rec.t.tolist()

    def made() -> Iterator[tuple[float, bytes]]:
        for i in range(len(g)):
            p = stream.sample(*g[i], *a[i], dts[i])
            if p is not None:
                yield ts[i], bytes(p)
        last = stream.flush()
        if last is not None:
            yield ts[-1], bytes(last)

    held: tuple[float, bytes] | None = None
    for t, p in made():
        if faults.disconnect_at_s is not None and (
                faults.disconnect_at_s <= t - ts[0]
                < faults.disconnect_at_s + faults.disconnect_for_s):
            continue
        if rng.random() < faults.loss:
            continue
        t_host = t * (1.0 + faults.clock_drift_ppm * 1e-6)
        if held is None and rng.random() < faults.reorder:
            held = (t_host, p)
            continue
        yield t_host, p
        if rng.random() < faults.duplicate:
            yield t_host, p
        if held is not None:
            yield t_host, held[1]
            held = None
    if held is not None:
        yield held
