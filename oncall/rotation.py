"""The final schedule: one pure function from (schedule, interval) to who is on call when.

Nothing here touches the database; `oncall.selectors.schedule_spec` builds the input. The cost of
a query depends on the interval asked for, never on how long ago a rotation started: the shift in
progress at the start of the interval is found by arithmetic, not by walking from the first one.

Every instant is worked with, and returned, in UTC: aware datetimes that share a ZoneInfo compare
and subtract by wall clock (a 23-hour day would come out as 24 hours), and `==` between zones is
False inside a repeated hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

HOURS, DAYS, WEEKS = "hours", "days", "weeks"


@dataclass(frozen=True)
class Restriction:
    """A weekly window in the schedule's zone; days are 0 = Monday … 6 = Sunday."""

    start_day: int
    start_time: time
    end_day: int
    end_time: time


@dataclass(frozen=True)
class LayerSpec:
    level: int
    unit: str
    length: int
    rotation_start: datetime
    participants: tuple[int, ...]
    restrictions: tuple[Restriction, ...] = ()
    ends_at: datetime | None = None
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "rotation_start", _utc(self.rotation_start))
        if self.ends_at is not None:
            object.__setattr__(self, "ends_at", _utc(self.ends_at))


@dataclass(frozen=True)
class OverrideSpec:
    user_id: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start))
        object.__setattr__(self, "end", _utc(self.end))


@dataclass(frozen=True)
class ScheduleSpec:
    time_zone: ZoneInfo
    layers: tuple[LayerSpec, ...] = ()
    # Later overrides win where overrides overlap.
    overrides: tuple[OverrideSpec, ...] = ()


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    user_id: int
    # "override", or the level of the layer the shift comes from.
    source: str = field(default="", compare=False)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment} has no time zone.")
    return moment.astimezone(UTC)


def _local(naive: datetime, zone: ZoneInfo) -> datetime:
    # Wall-clock time in the zone; a time that does not exist (spring forward) lands later by the
    # jump (an hour, or 30 minutes on Lord Howe), and one that happens twice (fall back) is the first.
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _period_start(layer: LayerSpec, index: int, zone: ZoneInfo) -> datetime:
    if layer.unit == HOURS:
        return layer.rotation_start + timedelta(hours=layer.length * index)
    step_days = layer.length * (7 if layer.unit == WEEKS else 1)
    origin = layer.rotation_start.astimezone(zone).replace(tzinfo=None)
    return _local(origin + timedelta(days=step_days * index), zone)


def _period_index_at(layer: LayerSpec, moment: datetime, zone: ZoneInfo) -> int:
    """The index of the rotation period in progress at `moment` (may be negative before the start)."""
    if layer.unit == HOURS:
        elapsed = (moment - layer.rotation_start).total_seconds()
        index = math.floor(elapsed / (layer.length * 3600))
    else:
        step_days = layer.length * (7 if layer.unit == WEEKS else 1)
        origin = layer.rotation_start.astimezone(zone).replace(tzinfo=None)
        wall = moment.astimezone(zone).replace(tzinfo=None)
        index = math.floor((wall - origin).total_seconds() / (step_days * 86400))
    # Wall-clock arithmetic can be an hour off around a clock change: settle on the exact period.
    while _period_start(layer, index + 1, zone) <= moment:
        index += 1
    while _period_start(layer, index, zone) > moment:
        index -= 1
    return index


def restriction_windows(
    restrictions: tuple[Restriction, ...], start: datetime, end: datetime, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The restriction windows overlapping [start, end), merged and sorted."""
    start, end = _utc(start), _utc(end)
    first_day: date = start.astimezone(zone).date() - timedelta(days=7)
    monday = first_day - timedelta(days=first_day.weekday())
    last_day = end.astimezone(zone).date() + timedelta(days=1)
    windows: list[tuple[datetime, datetime]] = []
    while monday <= last_day:
        for restriction in restrictions:
            opens = datetime.combine(monday + timedelta(days=restriction.start_day), restriction.start_time)
            closes = datetime.combine(monday + timedelta(days=restriction.end_day), restriction.end_time)
            if closes <= opens:
                closes += timedelta(days=7)  # wraps into the next week (e.g. Sunday 18:00 – Monday 08:00)
            window = (_local(opens, zone), _local(closes, zone))
            if window[0] < end and window[1] > start and window[0] < window[1]:
                windows.append((max(window[0], start), min(window[1], end)))
        monday += timedelta(days=7)
    return _merge_intervals(windows)


def _merge_intervals(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in sorted(intervals):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def layer_shifts(layer: LayerSpec, start: datetime, end: datetime, zone: ZoneInfo) -> list[Shift]:
    """Who this layer puts on call within [start, end), restrictions applied."""
    start, end = _utc(start), _utc(end)
    if not layer.participants or end <= start:
        return []
    active_start = max(start, layer.rotation_start)
    active_end = min(end, layer.ends_at) if layer.ends_at else end
    if active_end <= active_start:
        return []
    windows = (
        restriction_windows(layer.restrictions, active_start, active_end, zone)
        if layer.restrictions
        else [(active_start, active_end)]
    )
    shifts: list[Shift] = []
    index = _period_index_at(layer, active_start, zone)
    count = len(layer.participants)
    window_index = 0
    while window_index < len(windows):
        period_start = max(_period_start(layer, index, zone), active_start)
        period_end = min(_period_start(layer, index + 1, zone), active_end)
        if period_start >= active_end:
            break
        user = layer.participants[index % count]
        # Walk the windows that overlap this period; keep the first one that may reach the next.
        while window_index < len(windows) and windows[window_index][0] < period_end:
            opens, closes = windows[window_index]
            piece = (max(opens, period_start), min(closes, period_end))
            if piece[0] < piece[1]:
                shifts.append(Shift(piece[0], piece[1], user, str(layer.level)))
            if closes > period_end:
                break
            window_index += 1
        index += 1
        if period_end >= active_end:
            break
    return shifts


def _paint(timeline: list[Shift], shift: Shift) -> list[Shift]:
    """`shift` on top of `timeline`: it replaces whatever was there during its interval."""
    painted: list[Shift] = []
    for existing in timeline:
        if existing.end <= shift.start or existing.start >= shift.end:
            painted.append(existing)
            continue
        if existing.start < shift.start:
            painted.append(Shift(existing.start, shift.start, existing.user_id, existing.source))
        if existing.end > shift.end:
            painted.append(Shift(shift.end, existing.end, existing.user_id, existing.source))
    painted.append(shift)
    painted.sort(key=lambda item: item.start)
    return painted


def _join(shifts: list[Shift]) -> list[Shift]:
    joined: list[Shift] = []
    for shift in shifts:
        if joined and joined[-1].user_id == shift.user_id and joined[-1].end == shift.start:
            previous = joined[-1]
            joined[-1] = Shift(previous.start, shift.end, shift.user_id, previous.source)
        else:
            joined.append(shift)
    return joined


def final_schedule(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    """Non-overlapping shifts covering who is on call within [start, end), in time order.

    Layers are laid from the lowest level up, so a higher level wins wherever it has someone (at
    equal levels, the later layer in `spec.layers`); overrides are laid on top in their order.
    """
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    timeline: list[Shift] = []
    for layer in sorted(spec.layers, key=lambda item: item.level):
        for shift in layer_shifts(layer, start, end, spec.time_zone):
            timeline = _paint(timeline, shift)
    for override in spec.overrides:
        if override.start < override.end and override.end > start and override.start < end:
            timeline = _paint(
                timeline, Shift(max(override.start, start), min(override.end, end), override.user_id, "override")
            )
    return _join(timeline)


def on_call_at(spec: ScheduleSpec, moment: datetime) -> int | None:
    moment = _utc(moment)  # in its zone, a second 02:30 plus a microsecond would be the first 02:30
    shifts = final_schedule(spec, moment, moment + timedelta(microseconds=1))
    return shifts[0].user_id if shifts else None


def coverage_gaps(shifts: list[Shift], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) when nobody is on call."""
    start, end = _utc(start), _utc(end)
    gaps: list[tuple[datetime, datetime]] = []
    cursor = start
    for shift in shifts:
        if shift.start > cursor:
            gaps.append((cursor, shift.start))
        cursor = max(cursor, shift.end)
    if cursor < end:
        gaps.append((cursor, end))
    return gaps
