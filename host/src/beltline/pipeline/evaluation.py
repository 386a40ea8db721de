"""Scoring the pipeline against labelled data (used by the tests and the benchmarks)."""

from __future__ import annotations

from beltline.pipeline.episodes import Episode

TOLERANCE_S = 0.1  # a detected heel strike matches a reference one this close


def match_episodes(found: list[Episode], labels: list[tuple[str, str, float, float]],
                   kind: str) -> tuple[int, int, int, list[float]]:
    """(tp, fp, fn, onset errors) for one kind: a label is found by an overlapping detection
    of the same kind and side; each detection counts once."""
    dets = [e for e in found if e.kind == kind]
    labs = [lab for lab in labels if lab[0] == kind]
    used: set[int] = set()
    tp, onsets = 0, []
    for _, side, a, b in labs:
        hit = [i for i, e in enumerate(dets) if e.side == side and e.start_s < b
               and e.end_s > a]
        if hit:
            tp += 1
            onsets.append(dets[hit[0]].start_s - a)
            used.update(hit)
    return tp, len(dets) - len(used), len(labs) - tp, onsets
