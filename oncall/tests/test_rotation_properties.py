"""Properties of the final schedule over random rotations, layers, restrictions and overrides.

Every generated instant and wall-clock time sits on a 15-minute grid, and every zone used is a
whole number of 15 minutes from UTC (before and after its changes), so who is on call can only
change on a grid point. Checking each grid point of an interval is therefore checking every
instant of it, not a sample.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from oncall.rotation import (
    DAYS,
    HOURS,
    WEEKS,
    LayerSpec,
    OverrideSpec,
    Restriction,
    ScheduleSpec,
    Shift,
    coverage_gaps,
    final_schedule,
    layer_shifts,
    on_call_at,
    restriction_windows,
)

ZONES = [ZoneInfo(name) for name in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")]
GRID = timedelta(minutes=15)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
WEEKDAYS_9_TO_5 = tuple(Restriction(day, time(9), day, time(17)) for day in range(5))
# Near a clock change, wall-clock times are missing or doubled; the independent reading of the
# rules below is only exact away from one (test_rotation_dst.py covers the changes themselves).
CLOCK_CHANGE_MARGIN = timedelta(hours=3)

Interval = tuple[datetime, datetime]
Timeline = tuple[list[datetime], list[Shift]]


@cache
def clock_changes(zone: ZoneInfo) -> list[datetime]:
    """The instants in 2014–2029 at which the zone's UTC offset changes."""
    changes: list[datetime] = []
    moment, last = datetime(2014, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment < last:
        following = moment + timedelta(hours=6)
        if following.astimezone(zone).utcoffset() != offset:
            change = moment + GRID
            while change.astimezone(zone).utcoffset() == offset:
                change += GRID
            changes.append(change)
            offset = following.astimezone(zone).utcoffset()
        moment = following
    return changes


def near_clock_change(zone: ZoneInfo, moment: datetime) -> bool:
    changes = clock_changes(zone)
    position = bisect.bisect_left(changes, moment - CLOCK_CHANGE_MARGIN)
    return position < len(changes) and changes[position] <= moment + CLOCK_CHANGE_MARGIN


def on_grid(moment: datetime) -> bool:
    return (moment - EPOCH) % GRID == timedelta(0)


def grid_points(start: datetime, end: datetime) -> Iterable[datetime]:
    moment = start
    while moment < end:
        yield moment
        moment += GRID


def utc_intervals(shifts: Iterable[Shift]) -> list[Interval]:
    return [(shift.start.astimezone(UTC), shift.end.astimezone(UTC)) for shift in shifts]


def merged(intervals: Iterable[Interval]) -> list[Interval]:
    result: list[Interval] = []
    for opens, closes in sorted(intervals):
        if result and opens <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], closes))
        else:
            result.append((opens, closes))
    return result


def as_tuples(shifts: Iterable[Shift]) -> list[tuple[datetime, datetime, int]]:
    return [(shift.start.astimezone(UTC), shift.end.astimezone(UTC), shift.user_id) for shift in shifts]


def joined(shifts: list[tuple[datetime, datetime, int]]) -> list[tuple[datetime, datetime, int]]:
    result: list[tuple[datetime, datetime, int]] = []
    for start, end, user in shifts:
        if result and result[-1][1] == start and result[-1][2] == user:
            result[-1] = (result[-1][0], end, user)
        else:
            result.append((start, end, user))
    return result


def timeline(shifts: list[Shift]) -> Timeline:
    return [shift.start.astimezone(UTC) for shift in shifts], shifts


def user_at(line: Timeline, moment: datetime) -> int | None:
    starts, shifts = line
    position = bisect.bisect_right(starts, moment) - 1
    return shifts[position].user_id if position >= 0 and moment < shifts[position].end else None


def inside_restriction(restriction: Restriction, wall: datetime) -> bool:
    """Read straight off the wall clock: is this local time inside the weekly window?"""
    since_monday = wall - datetime.combine(wall.date() - timedelta(days=wall.weekday()), time())
    opens = timedelta(
        days=restriction.start_day, hours=restriction.start_time.hour, minutes=restriction.start_time.minute
    )
    closes = timedelta(days=restriction.end_day, hours=restriction.end_time.hour, minutes=restriction.end_time.minute)
    if opens < closes:
        return opens <= since_monday < closes
    return since_monday >= opens or since_monday < closes  # wraps past Sunday midnight


def expected_layer_user(layer: LayerSpec, zone: ZoneInfo, moment: datetime) -> int | None:
    """The rules of a rotation read independently of `oncall.rotation` (exact away from clock changes)."""
    rotation_start = layer.rotation_start.astimezone(UTC)
    if moment < rotation_start or (layer.ends_at is not None and moment >= layer.ends_at):
        return None
    wall = moment.astimezone(zone).replace(tzinfo=None)
    if layer.restrictions and not any(inside_restriction(item, wall) for item in layer.restrictions):
        return None
    if layer.unit == HOURS:
        index = (moment - rotation_start) // timedelta(hours=layer.length)
    else:
        # Whole wall-clock days since the first handoff, counting a day once its handoff time has passed.
        first_handoff = rotation_start.astimezone(zone).replace(tzinfo=None)
        days = (wall.date() - first_handoff.date()).days - (wall.time() < first_handoff.time())
        index = days // (layer.length * (7 if layer.unit == WEEKS else 1))
    return layer.participants[index % len(layer.participants)]


def expected_final_user(spec: ScheduleSpec, lines: list[Timeline], moment: datetime) -> int | None:
    """The latest override covering the moment, else the highest layer with someone (later wins ties)."""
    for override in reversed(spec.overrides):
        if override.start <= moment < override.end:
            return override.user_id
    best: tuple[int, int] | None = None
    for layer, line in zip(spec.layers, lines, strict=True):
        user = user_at(line, moment)
        if user is not None and (best is None or layer.level >= best[0]):
            best = (layer.level, user)
    return best[1] if best else None


# Strategies -------------------------------------------------------------------------------------


# Quarter hours of the day; 02:00–03:00 is missing or doubled on a change day, so it comes up often.
GRID_TIMES = st.one_of(st.integers(0, 95), st.sampled_from([8, 9, 10, 12, 36])).map(
    lambda quarter: time(quarter // 4, quarter % 4 * 15)
)
SHIFT_LENGTHS = {
    HOURS: st.one_of(st.sampled_from([1, 8, 12, 24]), st.integers(1, 48)),
    DAYS: st.integers(1, 10),
    WEEKS: st.integers(1, 3),
}
# The first handoff: about ten years back, recently, or after the interval starts.
DAYS_BEFORE_QUERY = st.one_of(st.integers(3640, 3660), st.integers(0, 60), st.integers(-5, -1))
PARTICIPANTS = st.lists(st.integers(1, 6), min_size=1, max_size=5).map(tuple)


@cache
def clock_changes_near_now(zone: ZoneInfo) -> st.SearchStrategy[datetime]:
    changes = [change for change in clock_changes(zone) if change.year in (2025, 2026, 2027)]
    # A zone without changes gets a random day instead.
    return st.sampled_from(changes) if changes else st.just(datetime(2026, 3, 29, tzinfo=UTC))


def present(draw: st.DrawFn, moment: datetime, zone: ZoneInfo) -> datetime:
    """An instant as a caller might pass it: in UTC, or in the schedule's zone (which sets `fold`)."""
    return moment.astimezone(zone) if draw(st.booleans()) else moment


def draw_restrictions(draw: st.DrawFn) -> tuple[Restriction, ...]:
    if draw(st.integers(0, 4)) == 0:
        return WEEKDAYS_9_TO_5
    windows = []
    for _ in range(draw(st.integers(1, 3))):
        start_day, start_time = draw(st.integers(0, 6)), draw(GRID_TIMES)
        end_day, end_time = draw(st.integers(0, 6)), draw(GRID_TIMES)
        if (start_day, start_time) != (end_day, end_time):  # the model refuses an empty window
            windows.append(Restriction(start_day, start_time, end_day, end_time))
    return tuple(windows)


def draw_layer(draw: st.DrawFn, zone: ZoneInfo, query_start: datetime, query_end: datetime) -> LayerSpec:
    unit = draw(st.sampled_from([HOURS, DAYS, WEEKS]))
    first_day = query_start.astimezone(zone).date() - timedelta(days=draw(DAYS_BEFORE_QUERY))
    first_wall = datetime.combine(first_day, draw(GRID_TIMES))
    rotation_start = first_wall.replace(tzinfo=zone, fold=draw(st.integers(0, 1))).astimezone(UTC)
    ends_at = None
    if draw(st.booleans()):
        ends_at = query_start + draw(st.integers(-2 * 96, (query_end - query_start) // GRID + 96)) * GRID
    return LayerSpec(
        level=draw(st.integers(1, 3)),
        unit=unit,
        length=draw(SHIFT_LENGTHS[unit]),
        rotation_start=present(draw, rotation_start, zone),
        participants=draw(PARTICIPANTS),
        restrictions=draw_restrictions(draw) if draw(st.booleans()) else (),
        ends_at=present(draw, ends_at, zone) if ends_at else None,
    )


def draw_query_interval(draw: st.DrawFn, zone: ZoneInfo, max_days: int) -> Interval:
    if draw(st.booleans()):
        start = draw(clock_changes_near_now(zone)) - draw(st.integers(0, 4 * 96)) * GRID
    else:
        start = datetime(2025, 1, 1, tzinfo=UTC) + draw(st.integers(0, 3 * 365 * 96)) * GRID
    return start, start + draw(st.integers(1, max_days * 96)) * GRID


@dataclass(frozen=True)
class Case:
    spec: ScheduleSpec
    start: datetime
    end: datetime
    # The same interval as a caller passed it (UTC or the schedule's zone).
    given_start: datetime
    given_end: datetime


@st.composite
def cases(draw: st.DrawFn, max_days: int = 10) -> Case:
    zone = draw(st.sampled_from(ZONES))
    start, end = draw_query_interval(draw, zone, max_days)
    overrides = []
    for _ in range(draw(st.integers(0, 4))):
        opens = start + draw(st.integers(-96, (end - start) // GRID + 96)) * GRID
        closes = opens + draw(st.integers(1, 3 * 96)) * GRID
        overrides.append(OverrideSpec(draw(st.integers(1, 9)), present(draw, opens, zone), present(draw, closes, zone)))
    spec = ScheduleSpec(
        time_zone=zone,
        layers=tuple(draw_layer(draw, zone, start, end) for _ in range(draw(st.integers(1, 4)))),
        overrides=tuple(overrides),
    )
    return Case(spec, start, end, present(draw, start, zone), present(draw, end, zone))


def every_layer(case: Case) -> list[list[Shift]]:
    return [layer_shifts(layer, case.given_start, case.given_end, case.spec.time_zone) for layer in case.spec.layers]


# Properties -------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(cases())
def test_shifts_are_ordered_never_overlap_and_stay_inside_the_interval(case: Case) -> None:
    shifts = final_schedule(case.spec, case.given_start, case.given_end)

    intervals = utc_intervals(shifts)
    assert all(start < end for start, end in intervals)
    assert all(on_grid(start) and on_grid(end) for start, end in intervals)
    for (earlier, later), (first, second) in zip(pairwise(intervals), pairwise(shifts), strict=True):
        assert earlier[1] <= later[0]
        # Adjacent shifts of one person are one shift.
        assert earlier[1] < later[0] or first.user_id != second.user_id
    assert all(case.start <= start and end <= case.end for start, end in intervals)
    for layer_result in every_layer(case):
        layer_intervals = utc_intervals(layer_result)
        assert all(start < end and case.start <= start and end <= case.end for start, end in layer_intervals)
        assert all(earlier[1] <= later[0] for earlier, later in pairwise(layer_intervals))


@settings(max_examples=200, deadline=None)
@given(cases())
def test_final_schedule_covers_exactly_the_layers_and_overrides(case: Case) -> None:
    shifts = final_schedule(case.spec, case.given_start, case.given_end)

    covered = [interval for layer_result in every_layer(case) for interval in utc_intervals(layer_result)]
    covered += [
        (max(override.start, case.start), min(override.end, case.end))
        for override in case.spec.overrides
        if override.start < case.end and override.end > case.start
    ]
    assert merged(utc_intervals(shifts)) == merged(covered)
    # The gaps are exactly the rest of the interval.
    gaps = coverage_gaps(shifts, case.given_start, case.given_end)
    assert merged(utc_intervals(shifts) + gaps) == [(case.start, case.end)]
    assert all(
        gap_end <= start or end <= gap_start for gap_start, gap_end in gaps for start, end in utc_intervals(shifts)
    )


@settings(max_examples=200, deadline=None)
@given(cases(max_days=7))
def test_overrides_then_the_highest_layer_decide_who_is_on_call_at_every_instant(case: Case) -> None:
    final = timeline(final_schedule(case.spec, case.given_start, case.given_end))
    lines = [timeline(layer_result) for layer_result in every_layer(case)]

    for moment in grid_points(case.start, case.end):
        assert user_at(final, moment) == expected_final_user(case.spec, lines, moment), moment


@settings(max_examples=200, deadline=None)
@given(cases(max_days=7))
def test_layers_follow_their_rotation_and_restrictions(case: Case) -> None:
    zone = case.spec.time_zone
    for layer, layer_result in zip(case.spec.layers, every_layer(case), strict=True):
        line = timeline(layer_result)
        assert all(on_grid(start) and on_grid(end) for start, end in utc_intervals(layer_result))
        if layer.restrictions:
            # Every shift lies inside one of the layer's windows (found afresh for a wider interval).
            windows = restriction_windows(layer.restrictions, case.start - timedelta(days=8), case.end, zone)
            for start, end in utc_intervals(layer_result):
                assert any(opens <= start and end <= closes for opens, closes in windows), (start, end)
        for moment in grid_points(case.start, case.end):
            user = user_at(line, moment)
            if layer.restrictions and user is not None:
                wall = moment.astimezone(zone).replace(tzinfo=None)
                # Restrictions hold everywhere; near a change only the time that does exist counts.
                assert any(inside_restriction(item, wall) for item in layer.restrictions) or near_clock_change(
                    zone, moment
                ), moment
            if not near_clock_change(zone, moment):
                assert user == expected_layer_user(layer, zone, moment), moment


@settings(max_examples=200, deadline=None)
@given(cases(max_days=3), st.data())
def test_on_call_at_equals_the_final_schedule(case: Case, data: st.DataObject) -> None:
    final = timeline(final_schedule(case.spec, case.given_start, case.given_end))
    boundaries = [moment for shift in final[1] for moment in (shift.start, shift.end)]
    steps = data.draw(st.lists(st.integers(0, (case.end - case.start) // GRID - 1), max_size=10))
    moments = [*boundaries, *(case.start + step * GRID for step in steps)]
    moments += [moment + timedelta(minutes=7) for moment in moments]

    for moment in moments:
        if case.start <= moment < case.end:
            assert on_call_at(case.spec, moment.astimezone(case.spec.time_zone)) == user_at(final, moment), moment
            assert on_call_at(case.spec, moment) == user_at(final, moment), moment


@settings(max_examples=200, deadline=None)
@given(cases(), st.data())
def test_splitting_the_interval_changes_nothing(case: Case, data: st.DataObject) -> None:
    steps = (case.end - case.start) // GRID
    if steps < 2:
        return
    split = case.start + data.draw(st.integers(1, steps - 1)) * GRID
    split = split.astimezone(case.spec.time_zone) if data.draw(st.booleans()) else split

    whole = as_tuples(final_schedule(case.spec, case.given_start, case.given_end))
    parts = as_tuples(final_schedule(case.spec, case.given_start, split))
    parts += as_tuples(final_schedule(case.spec, split, case.given_end))

    assert whole == joined(parts)


# A rotation that started ten years ago, against a walk from its first handoff ------------------


def walked_shifts(
    layer: LayerSpec, rotation_start: datetime, zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, int]]:
    """Hand off one period at a time from the rotation's start, as given: slow, and obviously right."""
    first_handoff = rotation_start.astimezone(UTC)
    first_wall = first_handoff.astimezone(zone).replace(tzinfo=None)
    handoff_day, index, handoff = first_wall.date(), 0, first_handoff
    found: list[tuple[datetime, datetime, int]] = []
    while handoff < end:
        if layer.unit == HOURS:
            following = handoff + timedelta(hours=layer.length)
        else:
            handoff_day += timedelta(days=layer.length * (7 if layer.unit == WEEKS else 1))
            # A wall-clock time that does not exist lands later by the jump; a doubled one is the first.
            following = datetime.combine(handoff_day, first_wall.time(), tzinfo=zone).astimezone(UTC)
        if following > start:
            user = layer.participants[index % len(layer.participants)]
            found.append((max(handoff, start), min(following, end), user))
        handoff, index = following, index + 1
    return found


@st.composite
def old_rotations(draw: st.DrawFn) -> tuple[ZoneInfo, LayerSpec, datetime, Interval]:
    zone = draw(st.sampled_from(ZONES))
    unit = draw(st.sampled_from([HOURS, DAYS, WEEKS]))
    length = draw({HOURS: st.integers(1, 30), DAYS: st.integers(1, 9), WEEKS: st.integers(1, 4)}[unit])
    first_wall = datetime.combine(date(2016, 1, 1) + timedelta(days=draw(st.integers(0, 120))), draw(GRID_TIMES))
    rotation_start = first_wall.replace(tzinfo=zone, fold=draw(st.integers(0, 1)))
    participants = tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=7, unique=True)))
    layer = LayerSpec(1, unit, length, rotation_start, participants)
    return zone, layer, rotation_start, draw_query_interval(draw, zone, max_days=5)


@settings(max_examples=60, deadline=None)
@given(old_rotations())
def test_a_rotation_started_ten_years_ago_matches_a_walk_from_its_start(
    rotation: tuple[ZoneInfo, LayerSpec, datetime, Interval],
) -> None:
    zone, layer, rotation_start, (start, end) = rotation

    shifts = layer_shifts(layer, start, end, zone)

    assert as_tuples(shifts) == walked_shifts(layer, rotation_start, zone, start, end)
