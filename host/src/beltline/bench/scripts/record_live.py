"""Child process for the crash tests: a live session (virtual unit -> receiver -> pipeline ->
recorder) into a store, printing every notification as it arrives ("TICK N": the packet's
first tick and its sample count) BEFORE the session handles it, until it is killed: what the
parent has read is at least what arrived.

    record_forever.py STORE SPEED [SEED]
"""

import sys
import time
from pathlib import Path

from beltline.link.base import Notification
from beltline.pipeline.settings import Settings
from beltline.sessions.live import LiveSession
from beltline.sim import scenarios
from beltline.sim.link import VirtualLink
from beltline.sim.wearer import simulate


class Announcing(VirtualLink):
    async def notifications(self):  # type: ignore[no-untyped-def, override]
        async for item in super().notifications():
            if isinstance(item, Notification) and len(item.payload) >= 10:
                p = item.payload
                n = (len(p) - 10) // 16
                print(int.from_bytes(p[4:8], "little"), n, flush=True)
            yield item


speed = float(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rec = simulate(scenarios.build("healthy_walk", 3.0, seed), 100.0, seed=seed)
live = LiveSession(Announcing(rec, speed=speed), Path(sys.argv[1]), Settings(), name="kill me")
live.start()
while not live.done.wait(0.2):
    pass
print("done", flush=True)
time.sleep(600)
