"""Child process for the crash test: records a virtual walk into a store, printing the time
of the last sample handed to the recorder after every write, until it is killed."""

import sys
import time
from pathlib import Path

from beltline.pipeline import Pipeline
from beltline.sessions.store import Recorder, Store
from beltline.sim import scenarios
from beltline.sim.wearer import simulate

store = Store(Path(sys.argv[1]))
rec = simulate(scenarios.build("healthy_walk", 2.0, 1), 100.0, seed=1)
sid = store.new_session("virtual")
recorder = Recorder(store, sid)
p = Pipeline()
for i in range(0, len(rec.t), 25):  # packets of a quarter second
    out = p.push(rec.t[i: i + 25], rec.acc[i: i + 25], rec.gyr[i: i + 25])
    recorder.write(out.rows())
    if len(out.t):
        print(f"{out.t[-1]:.3f}", flush=True)
    time.sleep(0.002)
print("done", flush=True)
time.sleep(60)
