"""The guide of the single-leg stance (Trendelenburg) test: what to say, and when, so a wearer
can do the test alone (Hardcastle & Nade 1985's protocol: stand still, lift the other foot,
hold 30 s, change). The same schedule paces the virtual wearer and, with a belt unit, the
person; it holds no clock: the caller says what time it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from beltline import words


@dataclass(frozen=True)
class Step:
    """From ``start_s`` for ``seconds``: ``text`` once, then a countdown if ``count``."""

    start_s: float
    seconds: float
    text: str
    count: bool = False
    stance: str = ""  # the leg to stand on during this step ("" = both feet)

    @property
    def end_s(self) -> float:
        return self.start_s + self.seconds


def schedule(first: str = "right", quiet_s: float = 8.0, countdown_s: float = 3.0,
               hold_s: float = 30.0, change_s: float = 8.0) -> list[Step]:
    """The test's schedule, standing first on ``first``."""
    second = words.other(first)
    t = 0.0
    out: list[Step] = []

    def add(seconds: float, text: str, count: bool = False, stance: str = "") -> None:
        nonlocal t
        out.append(Step(t, seconds, text, count, stance))
        t += seconds

    add(quiet_s, "Stand still on both feet, looking ahead, hands on your hips.")
    for i, leg in enumerate((first, second)):
        add(countdown_s, f"Get ready to stand on your {leg} leg.", count=True)
        add(hold_s, f"Lift your {words.other(leg)} foot a little (knee bent) and hold, "
            "pelvis level.", count=True, stance=leg)
        if i == 0:
            add(change_s, "Put your foot down. Both feet, rest: change.")
    add(5.0, "Put your foot down. Stand still: done.")
    return out




class Guide:
    """Says each step once, and the countdown seconds, as time goes by (``at``)."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self._said: set[tuple[int, int]] = set()

    @property
    def seconds(self) -> float:
        return self.steps[-1].end_s if self.steps else 0.0

    def at(self, t_s: float) -> list[str]:
        """What to say at ``t_s`` (seconds since the start) that was not said yet."""
        out = []
        for i, st in enumerate(self.steps):
            if st.start_s <= t_s and (i, -1) not in self._said:
                self._said.add((i, -1))
                out.append(st.text)
            if st.count and st.start_s <= t_s < st.end_s:
                left = int(st.end_s - t_s + 0.999)
                key = (i, left)
                # a countdown each second at the end, every 10 s before
                if key not in self._said and (left <= 5 or left % 10 == 0):
                    self._said.add(key)
                    out.append(f"  {left}")
        return out


__all__ = ["Guide", "Step", "schedule"]
