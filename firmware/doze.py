"""Light sleep between FIFO reads while nothing needs the unit awake.

With no host connected, outside the pairing window, with the alerts silent (tracking mode or
haptics off), the motor idle and no transfer going, the unit has nothing to do between FIFO
reads: it empties the FIFO once every ``POLL_MS`` (the LSM6DSO's holds ~2.4 s at 104 Hz;
smaller FIFOs are read at half their time, so nothing overflows) and light-sleeps in between
(``machine.lightsleep``: CPU and radio off, the IMU keeps sampling into its FIFO).
MicroPython's stock ESP32 build cannot keep advertising or a link through light sleep
(micropython/micropython#6396), so a dozing unit stops advertising, and to stay findable
it wakes for ``WINDOW_S`` in every ``PERIOD_S``: awake at the normal poll and advertising, so
a host's scan of ``PERIOD_S + WINDOW_S`` finds it (``beltline.link.ble.SCAN_S``). After a
link ends the unit stays awake for ``AWAKE_AFTER_LINK_S``, so a host that lost it reconnects
at once; a button press (a wake source on the board) opens the pairing window, which keeps
it awake too.

While dozing (windows included) the unit skips its attitude filter (``Stream.sample_raw``:
the records' angles are 0): nothing on it reads the angles with the alerts silent, and the host
fuses the raw samples itself (it runs VQF on every session), so the filter's ~80 % of the
loop's time is saved; it restarts (keeping its gyro bias) when the unit wakes.

Time is the IMU's (samples), as everywhere in the app. Only the decision lives here; the
sampler does the sleeping (``app.App.sampler``).
"""

POLL_MS = 1000  # a FIFO read a second while dozing (sooner if the FIFO is smaller)
PERIOD_S = 15  # an advertising window this often while dozing ...
WINDOW_S = 1  # ... this long (10 advertising events: awake 7 % of the time for it)
AWAKE_AFTER_LINK_S = 60

AWAKE = 0  # a normal poll (something needs the unit, or a host may be near)
WINDOW = 1  # dozing, but in an advertising window: a normal poll, advertising
SLEEP = 2  # dozing: radio off, light sleep until the next FIFO read


class Doze:
    def __init__(self, rate_hz, fifo_samples=256):
        # at most half the sensor's FIFO between reads (the MPU-6050's 85 samples: 425 ms)
        self.poll_ms = min(POLL_MS, int(500 * fifo_samples / rate_hz))
        self.period = int(PERIOD_S * rate_hz)
        self.window = int(WINDOW_S * rate_hz)
        self.awake_after = int(AWAKE_AFTER_LINK_S * rate_hz)
        self.awake_until = 0  # samples: awake at least until then
        self.slept_ms = 0  # light sleep asked for, in total
        self.sleeps = 0
        self.windows = 0  # advertising windows opened while dozing
        self.state = AWAKE

    def plan(self, samples, quiet, linked):
        """The next poll's state. ``quiet``: nothing but the radio's findability needs the
        unit awake; ``linked``: a host is connected."""
        if linked:
            self.awake_until = samples + self.awake_after
        if linked or not quiet or samples < self.awake_until:
            state = AWAKE
        elif (samples - self.awake_until) % self.period >= self.period - self.window:
            state = WINDOW  # (the window closes each period: the first sleep comes first)
        else:
            state = SLEEP
        if state == WINDOW and self.state == SLEEP:
            self.windows += 1
        self.state = state
        return state
