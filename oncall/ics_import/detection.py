"""Spotting a regular rotation in imported shifts, so the import can become one layer."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from oncall.ics_import.reading import MAX_ROTATION_UNITS, MAX_SHIFT_LENGTH, MAX_TURNS, ImportedShift, Rotation
from oncall.rotation import DAYS, HOURS, WEEKS, LayerSpec, layer_shifts


def _joined(shifts: Iterable[tuple[datetime, datetime, int]]) -> list[tuple[datetime, datetime, int]]:
    joined: list[tuple[datetime, datetime, int]] = []
    for start, end, user_id in shifts:
        if joined and joined[-1][2] == user_id and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end, user_id)
        else:
            joined.append((start, end, user_id))
    return joined


def _offset(origin: datetime, moment: datetime, unit: str, zone: ZoneInfo) -> int | None:
    """How many whole units `moment` is after `origin`, read as `oncall.rotation` reads units."""
    if unit == HOURS:
        elapsed = moment - origin
        return None if elapsed % timedelta(hours=1) else elapsed // timedelta(hours=1)
    # Days and weeks are wall-clock days in the schedule's zone.
    wall = moment.astimezone(zone).replace(tzinfo=None) - origin.astimezone(zone).replace(tzinfo=None)
    if wall % timedelta(days=1):
        return None
    if unit == WEEKS:
        return None if wall.days % 7 else wall.days // 7
    return wall.days


def _smallest_period(items: list[int]) -> int:
    """The shortest p such that items[i] == items[i - p] throughout (Knuth–Morris–Pratt)."""
    prefix = [0] * len(items)
    for position in range(1, len(items)):
        length = prefix[position - 1]
        while length and items[position] != items[length]:
            length = prefix[length - 1]
        if items[position] == items[length]:
            length += 1
        prefix[position] = length
    return len(items) - prefix[-1]


def _fit(shifts: list[tuple[datetime, datetime, int]], unit: str, zone: ZoneInfo, *, whole: bool) -> Rotation | None:
    origin = shifts[0][0]
    offsets = [0]
    for start, _, _ in shifts[1:]:
        offset = _offset(origin, start, unit, zone)
        if offset is None or offset <= offsets[-1]:
            return None
        offsets.append(offset)
    lengths = [later - earlier for earlier, later in pairwise(offsets)]
    if not lengths:
        # One long shift: a one-person rotation of any length reproduces it. Only as the whole file,
        # though; after a lead-in it would be a layer holding one shift.
        if not whole:
            return None
        step, sequence = 1, [shifts[0][2]]
    else:
        step = math.gcd(*lengths)
        if step > MAX_SHIFT_LENGTH or offsets[-1] // step > MAX_ROTATION_UNITS:
            return None
        # Whose turn each period is; the last shift may be cut short, so it counts once.
        sequence = [
            user_id for (_, _, user_id), length in zip(shifts[:-1], lengths, strict=True) for _ in range(length // step)
        ]
        sequence.append(shifts[-1][2])
    period = _smallest_period(sequence)
    # The order must come round again at least once to call it a rotation.
    if len(sequence) < 2 * period and len(sequence) > 1:
        return None
    rotation = Rotation(unit, step, origin, tuple(sequence[:period]))
    spec = LayerSpec(
        level=0, unit=unit, length=step, rotation_start=origin, participants=rotation.participants, name="import"
    )
    # The arithmetic above is a guess; the layer must give back exactly the imported shifts.
    produced = _joined(
        (shift.start, shift.end, shift.user_id) for shift in layer_shifts(spec, origin, shifts[-1][1], zone)
    )
    return rotation if produced == shifts else None


def detect_rotation(shifts: Sequence[ImportedShift], zone: ZoneInfo) -> Rotation | None:
    """The simplest layer (unit, length, start, participants in order) whose shifts are exactly these.

    A layer has no gaps, hands off on a fixed grid and repeats its participants in order. Of the
    layers that fit, the one with the fewest turns wins: a weekly rotation of three people also
    fits a grid of 4 hours as 126 turns when the file's first shift is cut short.
    """
    joined = _joined((shift.start, shift.end, shift.user_id) for shift in shifts)
    if not joined or any(earlier[1] != later[0] for earlier, later in pairwise(joined)):
        return None
    attempts: list[tuple[list[tuple[datetime, datetime, int]], tuple[ImportedShift, ...]]] = [(joined, ())]
    if len(joined) > 2:
        start, end, user_id = joined[0]
        attempts.append((joined[1:], (ImportedShift(start, end, user_id),)))
    fits = [
        replace(rotation, lead_in=lead_in)
        for part, lead_in in attempts
        for unit in (WEEKS, DAYS, HOURS)
        if (rotation := _fit(part, unit, zone, whole=not lead_in)) is not None
    ]
    # min() keeps the first of equals: no lead-in before a lead-in, weeks before days before hours.
    best = min(fits, key=lambda rotation: len(rotation.participants), default=None)
    return best if best is not None and len(best.participants) <= MAX_TURNS else None


# The write -----------------------------------------------------------------------------------
