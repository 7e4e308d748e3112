"""Arithmetic on sets of UTC spans [start, end): what calendars and rosters add up and cut out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from routing.wallclock import Span


def settle(pending: list[Span], floor: datetime) -> tuple[list[Span], list[Span]]:
    """Split the union of `pending` into what lies before `floor` (final) and the rest."""
    settled: list[Span] = []
    rest: list[Span] = []
    for s, e in union(pending):
        if e <= floor:
            settled.append((s, e))
        elif s < floor:
            settled.append((s, floor))
            rest.append((floor, e))
        else:
            rest.append((s, e))
    return settled, rest


def union(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def subtract(span: Span, holes: Iterable[Span]) -> list[Span]:
    pieces = [span]
    for hole_start, hole_end in holes:
        pieces = [
            piece
            for s, e in pieces
            for piece in ((s, min(e, hole_start)), (max(s, hole_end), e))
            if piece[0] < piece[1]
        ]
    return pieces
