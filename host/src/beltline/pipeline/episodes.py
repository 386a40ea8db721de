"""Episode detectors: sustained hip drop, hip hike, anterior tilt, standing pelvic obliquity.

Each detector is fed evidence units in time order (a single-leg stance for hip drop and hike,
one second of eligible posture for tilt and obliquity), keeps a window of the last N units and
uses two thresholds (hysteresis): an episode opens when at least ``on`` of the last N units show the
condition and closes when at most ``off`` do, or when evidence stops for longer than
``pause_max_s``. Start and end are back-dated to the first and last unit that showed it, so a
recording's episodes do not depend on the dwell time's delay. Settings: ``pipeline.settings``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from beltline.pipeline.settings import Settings
from beltline.records import EpisodeRow as Episode

__all__ = ["KINDS", "Detectors", "Episode", "OpenEpisode"]

KINDS = ("hip_drop", "hip_hike", "anterior_tilt", "pelvic_obliquity")


@dataclass(frozen=True)
class OpenEpisode:
    """An episode held open now: its first and last evidence showing the condition
    (``start_s``, ``last_hit_s``), its latest evidence of any kind (``last_s``) and its peak."""

    kind: str
    side: str
    start_s: float
    last_hit_s: float
    last_s: float
    peak_deg: float


@dataclass
class Unit:
    """One piece of evidence: time span, measured value (deg), whether it shows the condition,
    the activity it was measured in and the steps it spans."""

    start_s: float
    end_s: float
    value: float
    hit: bool
    activity: str
    steps: int = 0


@dataclass
class _Track:
    kind: str
    side: str
    window: int
    on: int
    off: int
    pause_max_s: float
    min_s: float
    recent: deque[Unit] = field(default_factory=deque)
    streak: list[Unit] = field(default_factory=list)
    open_units: list[Unit] | None = None
    held: list[Unit] | None = None  # a closed episode, given out unless a new one joins it
    last_end: float = float("-inf")
    hits: int = 0  # how many of ``recent`` are hits (kept as they come and go)

    def feed(self, u: Unit) -> Episode | None:
        closed = self.tick(u.start_s)
        if self.recent and u.start_s - self.recent[-1].end_s > self.pause_max_s:
            closed = self.close() or closed
            self.recent.clear()
            self.hits = 0
            self.streak.clear()
        self.recent.append(u)
        self.hits += u.hit
        while len(self.recent) > self.window:
            self.hits -= self.recent.popleft().hit
        hits = self.hits
        if self.open_units is None:
            # the streak: every unit since the first hit of the current run of evidence; it
            # ends when the window falls to `off` hits
            if hits <= self.off:
                self.streak.clear()
            if (self.streak or u.hit) and u.start_s >= self.last_end:
                self.streak.append(u)
            if hits >= self.on and self.streak and \
                    u.end_s - self.streak[0].start_s >= self.min_s:
                closed = self._opened(list(self.streak)) or closed
                self.streak.clear()
        else:
            self.open_units.append(u)
            if hits <= self.off:
                closed = self.close() or closed
        return closed

    def close(self) -> Episode | None:
        """End the open episode. It is given out only once no new one has opened within
        ``pause_max_s`` (a condition that comes and goes around its threshold, as a growing
        drop does, is one episode): the closed one is held and merged with a new one that
        opens in time; ``flush`` gives out what is held."""
        units, self.open_units = self.open_units, None
        if not units:
            return None
        last = max(i for i, x in enumerate(units) if x.hit)
        units = units[: last + 1]
        self.last_end = units[-1].end_s
        out = self.flush()
        self.held = units
        return out

    def flush(self) -> Episode | None:
        """The held episode, if any."""
        units, self.held = self.held, None
        if not units:
            return None
        hits = [x for x in units if x.hit]
        acts: dict[str, float] = {}
        for x in units:
            acts[x.activity] = acts.get(x.activity, 0.0) + (x.end_s - x.start_s)
        return Episode(self.kind, self.side, units[0].start_s, units[-1].end_s,
                       max(x.value for x in hits), sum(x.value for x in hits) / len(hits),
                       max(acts, key=lambda k: acts[k]), sum(x.steps for x in units))

    def _opened(self, units: list[Unit]) -> Episode | None:
        """A new episode opens with ``units``: merged with the held one if that ended less
        than ``pause_max_s`` before; else the held one is given out."""
        if self.held and units[0].start_s - self.held[-1].end_s <= self.pause_max_s:
            self.open_units = self.held + units
            self.held = None
            return None
        out = self.flush()
        self.open_units = units
        return out

    def tick(self, t_s: float) -> Episode | None:
        """Give out the held episode once ``pause_max_s`` has passed since it ended."""
        if self.held and t_s - self.held[-1].end_s > self.pause_max_s:
            return self.flush()
        return None

    @property
    def active(self) -> bool:
        return self.open_units is not None


class Detectors:
    """All episode rules for one wearer. ``step``/``second`` feed evidence; each returns the
    episodes that closed. ``finish`` closes what is still open at the end of a recording."""

    def __init__(self, settings: Settings) -> None:
        s = settings
        self.settings = s
        hd = (s.hip_drop_window_steps, s.hip_drop_on_steps, s.hip_drop_off_steps, s.pause_max_s,
              s.min_episode_s)
        po = (s.posture_window_s, s.posture_on_s, s.posture_off_s, s.pause_max_s,
              s.min_episode_s)
        self.tracks = {
            ("hip_drop", "left"): _Track("hip_drop", "left", *hd),
            ("hip_drop", "right"): _Track("hip_drop", "right", *hd),
            ("hip_hike", "left"): _Track("hip_hike", "left", *hd),
            ("hip_hike", "right"): _Track("hip_hike", "right", *hd),
            ("anterior_tilt", ""): _Track("anterior_tilt", "", *po),
            ("pelvic_obliquity", "left"): _Track("pelvic_obliquity", "left", *po),
            ("pelvic_obliquity", "right"): _Track("pelvic_obliquity", "right", *po),
        }

    def stance(self, kind: str, side: str, start_s: float, end_s: float, value_deg: float,
               hit: bool) -> list[Episode]:
        """A single-leg stance on ``side`` as evidence for ``kind`` ("hip_drop" or
        "hip_hike"): its measure ``value_deg`` (the swing side's drop, or its rise) and whether
        it shows the condition (``pipeline.evidence`` decides, against normal and against the
        wearer)."""
        e = self.tracks[(kind, side)].feed(Unit(start_s, end_s, value_deg, hit, "walking", 1))
        return [e] if e else []

    def second(self, start_s: float, activity: str, tilt_excess_deg: float, tilt_deg: float,
               obliquity_deg: float) -> list[Episode]:
        """One second of posture (means over it). Tilt counts while walking or standing,
        obliquity while standing; sitting and everything else (bending, transitions) never."""
        out: list[Episode] = []
        s = self.settings
        end = start_s + 1.0
        if activity in ("walking", "standing"):
            e = self.tracks[("anterior_tilt", "")].feed(
                Unit(start_s, end, tilt_deg, tilt_excess_deg >= s.anterior_tilt_deg, activity))
            out += [e] if e else []
        if activity == "standing":
            for side, sign in (("right", 1.0), ("left", -1.0)):
                v = sign * obliquity_deg
                e = self.tracks[("pelvic_obliquity", side)].feed(
                    Unit(start_s, end, v, v >= s.obliquity_deg, activity))
                out += [e] if e else []
        return out

    def open_episodes(self) -> list[OpenEpisode]:
        """The episodes open now, with their evidence times (a page shows one as ongoing only
        while its evidence is current)."""
        out = []
        for (kind, side), track in self.tracks.items():
            units = track.open_units
            if not units:
                continue
            hits = [u for u in units if u.hit]
            last = track.recent[-1] if track.recent else units[-1]
            out.append(OpenEpisode(kind, side, units[0].start_s,
                                   hits[-1].end_s if hits else units[0].end_s, last.end_s,
                                   max((u.value for u in hits), default=float("nan"))))
        return out

    def active(self) -> list[tuple[str, str]]:
        """The (kind, side) of every episode open now: what the live banner shows."""
        return [k for k, t in self.tracks.items() if t.active]

    def finish(self) -> list[Episode]:
        out = []
        for t in self.tracks.values():
            out += [t.close(), t.flush()]
        return [e for e in out if e]
