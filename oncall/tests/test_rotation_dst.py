"""Daylight saving: what a handoff time and a shift length mean when the clocks change.

The promise (see `oncall.models.Layer`): shifts in days or weeks hand off at the same wall-clock
time every time, so a 1-day shift may last 23 or 25 hours; shifts in hours last exactly that many
hours, so their handoff moves on the wall clock. A wall-clock time that does not exist lands later
by the size of the jump; one that happens twice is the first of the two.

Lengths are taken as `shift.end - shift.start` on what comes back, as callers will: that is only
a real duration if the datetimes are not both in the schedule's zone (they are in UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from oncall.rotation import (
    DAYS,
    HOURS,
    WEEKS,
    LayerSpec,
    Restriction,
    ScheduleSpec,
    Shift,
    final_schedule,
    layer_shifts,
    on_call_at,
    restriction_windows,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")

# 2026: Berlin springs forward 29 Mar and falls back 25 Oct; New York 8 Mar and 1 Nov.
SPRING_FORWARD = {BERLIN: date(2026, 3, 29), NEW_YORK: date(2026, 3, 8)}
FALL_BACK = {BERLIN: date(2026, 10, 25), NEW_YORK: date(2026, 11, 1)}
WEEKDAYS_9_TO_5 = tuple(Restriction(day, time(9), day, time(17)) for day in range(5))
HOUR = timedelta(hours=1)


def wall(zone: ZoneInfo, day: date, at: time = time(9), fold: int = 0) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).replace(fold=fold)


def stored(moment: datetime) -> datetime:
    """As the database hands it back: in UTC."""
    return moment.astimezone(UTC)


def rotation(zone: ZoneInfo, unit: str, length: int, first_handoff: datetime) -> ScheduleSpec:
    return ScheduleSpec(time_zone=zone, layers=(LayerSpec(1, unit, length, stored(first_handoff), (1, 2, 3)),))


def local_handoffs(shifts: list[Shift], zone: ZoneInfo) -> list[datetime]:
    return [shift.start.astimezone(zone).replace(tzinfo=None) for shift in shifts]


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=["Berlin", "New_York"])
def test_daily_0900_handoff_stays_at_0900_local_all_year(zone: ZoneInfo) -> None:
    spec = rotation(zone, DAYS, 1, wall(zone, date(2026, 1, 1)))

    shifts = final_schedule(spec, wall(zone, date(2026, 1, 1)), wall(zone, date(2027, 1, 1)))

    assert len(shifts) == 365
    lengths: dict[date, timedelta] = {}
    for number, shift in enumerate(shifts):
        day = date(2026, 1, 1) + timedelta(days=number)
        assert shift.start == wall(zone, day)
        assert shift.end == wall(zone, day + timedelta(days=1))
        assert shift.start.astimezone(zone).time() == shift.end.astimezone(zone).time() == time(9)
        assert shift.user_id == (1, 2, 3)[number % 3]
        if shift.end - shift.start != 24 * HOUR:
            lengths[day] = shift.end - shift.start
    # Only the two days that contain a change differ, by exactly the hour the clocks moved.
    assert lengths == {
        SPRING_FORWARD[zone] - timedelta(days=1): 23 * HOUR,
        FALL_BACK[zone] - timedelta(days=1): 25 * HOUR,
    }


@pytest.mark.parametrize(
    ("zone", "day", "real_length"),
    [
        (BERLIN, date(2026, 3, 28), 23 * HOUR),
        (BERLIN, date(2026, 10, 24), 25 * HOUR),
        (NEW_YORK, date(2026, 3, 7), 23 * HOUR),
        (NEW_YORK, date(2026, 10, 31), 25 * HOUR),
        # Lord Howe moves its clocks by half an hour.
        (LORD_HOWE, date(2026, 4, 4), timedelta(hours=24, minutes=30)),
        (LORD_HOWE, date(2026, 10, 3), timedelta(hours=23, minutes=30)),
    ],
    ids=[
        "Berlin spring",
        "Berlin autumn",
        "New_York spring",
        "New_York autumn",
        "Lord_Howe autumn",
        "Lord_Howe spring",
    ],
)
def test_one_day_shift_across_a_change_lasts_the_wall_clock_day(
    zone: ZoneInfo, day: date, real_length: timedelta
) -> None:
    layer = LayerSpec(1, DAYS, 1, stored(wall(zone, date(2026, 1, 1))), (1, 2))

    (shift,) = layer_shifts(layer, wall(zone, day), wall(zone, day + timedelta(days=1)), zone)

    assert shift.start == wall(zone, day)
    assert shift.end == wall(zone, day + timedelta(days=1))
    assert shift.end - shift.start == real_length


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=["Berlin", "New_York"])
@pytest.mark.parametrize("given_in", ["UTC", "schedule zone"])
def test_24_hour_shifts_last_24_hours_and_their_handoff_moves_with_the_clocks(zone: ZoneInfo, given_in: str) -> None:
    first = wall(zone, date(2026, 1, 1))
    layer = LayerSpec(1, HOURS, 24, stored(first) if given_in == "UTC" else first, (1, 2, 3))
    spec = ScheduleSpec(time_zone=zone, layers=(layer,))
    summer_starts = stored(wall(zone, SPRING_FORWARD[zone], time(4)))
    summer_ends = stored(wall(zone, FALL_BACK[zone], time(4)))

    shifts = final_schedule(spec, first, wall(zone, date(2027, 1, 1)))

    assert len(shifts) == 365
    for number, shift in enumerate(shifts):
        assert shift.start == stored(first) + number * 24 * HOUR
        assert shift.end - shift.start == 24 * HOUR
        # Exactly 24 real hours: in summer time the handoff is at 10:00 on the wall clock.
        in_summer = summer_starts <= shift.start < summer_ends
        assert shift.start.astimezone(zone).time() == (time(10) if in_summer else time(9))


def test_24_hour_handoff_moves_by_the_change_on_the_wall_clock() -> None:
    spring = rotation(BERLIN, HOURS, 24, wall(BERLIN, date(2026, 3, 27)))
    autumn = rotation(BERLIN, HOURS, 24, wall(BERLIN, date(2026, 10, 23)))

    spring_shifts = final_schedule(spring, wall(BERLIN, date(2026, 3, 27)), wall(BERLIN, date(2026, 3, 31), time(12)))
    autumn_shifts = final_schedule(autumn, wall(BERLIN, date(2026, 10, 23)), wall(BERLIN, date(2026, 10, 27), time(12)))

    assert local_handoffs(spring_shifts, BERLIN) == [
        datetime(2026, 3, 27, 9),
        datetime(2026, 3, 28, 9),
        datetime(2026, 3, 29, 10),
        datetime(2026, 3, 30, 10),
        datetime(2026, 3, 31, 10),
    ]
    assert local_handoffs(autumn_shifts, BERLIN) == [
        datetime(2026, 10, 23, 9),
        datetime(2026, 10, 24, 9),
        datetime(2026, 10, 25, 8),
        datetime(2026, 10, 26, 8),
        datetime(2026, 10, 27, 8),
    ]
    assert {shift.end - shift.start for shift in spring_shifts[:-1] + autumn_shifts[:-1]} == {24 * HOUR}


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=["Berlin", "New_York"])
def test_weekly_monday_0900_handoff_stays_at_monday_0900_local(zone: ZoneInfo) -> None:
    first_monday = date(2026, 1, 5)
    spec = rotation(zone, WEEKS, 1, wall(zone, first_monday))

    shifts = final_schedule(spec, wall(zone, first_monday), wall(zone, first_monday + timedelta(weeks=52)))

    assert len(shifts) == 52
    lengths: dict[date, timedelta] = {}
    for number, shift in enumerate(shifts):
        monday = first_monday + timedelta(weeks=number)
        assert shift.start == wall(zone, monday)
        assert shift.end == wall(zone, monday + timedelta(weeks=1))
        assert shift.user_id == (1, 2, 3)[number % 3]
        if shift.end - shift.start != 168 * HOUR:
            lengths[monday] = shift.end - shift.start
    spring, autumn = SPRING_FORWARD[zone], FALL_BACK[zone]
    assert lengths == {
        spring - timedelta(days=spring.weekday()): 167 * HOUR,
        autumn - timedelta(days=autumn.weekday()): 169 * HOUR,
    }


@pytest.mark.parametrize("zone", [BERLIN, NEW_YORK], ids=["Berlin", "New_York"])
def test_weekdays_9_to_5_restriction_stays_9_to_5_local(zone: ZoneInfo) -> None:
    layer = LayerSpec(1, WEEKS, 1, stored(wall(zone, date(2025, 12, 29))), (1, 2), WEEKDAYS_9_TO_5)
    year = [date(2026, 1, 1) + timedelta(days=number) for number in range(365)]

    shifts = layer_shifts(layer, wall(zone, date(2026, 1, 1), time(0)), wall(zone, date(2027, 1, 1), time(0)), zone)

    weekdays = [day for day in year if day.weekday() < 5]
    assert [(shift.start, shift.end) for shift in shifts] == [
        (wall(zone, day, time(9)), wall(zone, day, time(17))) for day in weekdays
    ]
    assert {shift.end - shift.start for shift in shifts} == {8 * HOUR}
    # Weekly rotation handing off on Monday 09:00: the whole week's windows go to one person.
    assert all(shift.user_id == (1, 2)[(shift.start.astimezone(zone).isocalendar().week - 1) % 2] for shift in shifts)


@pytest.mark.parametrize(
    ("day", "real_length"), [(date(2026, 3, 28), 7 * HOUR), (date(2026, 10, 24), 9 * HOUR)], ids=["spring", "autumn"]
)
def test_night_restriction_across_a_change_keeps_its_wall_clock_ends(day: date, real_length: timedelta) -> None:
    saturday_night = (Restriction(5, time(22), 6, time(6)),)

    (window,) = restriction_windows(
        saturday_night, wall(BERLIN, day, time(12)), wall(BERLIN, day, time(23, 59)) + 12 * HOUR, BERLIN
    )

    assert window == (wall(BERLIN, day, time(22)), wall(BERLIN, day + timedelta(days=1), time(6)))
    assert window[1] - window[0] == real_length


def test_handoff_in_the_nonexistent_hour_lands_an_hour_later() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026: the clocks jump from 02:00 to 03:00.
    spec = rotation(BERLIN, DAYS, 1, wall(BERLIN, date(2026, 3, 26), time(2, 30)))

    shifts = final_schedule(spec, wall(BERLIN, date(2026, 3, 27), time(12)), wall(BERLIN, date(2026, 3, 31), time(12)))

    assert local_handoffs(shifts, BERLIN)[1:] == [
        datetime(2026, 3, 28, 2, 30),
        datetime(2026, 3, 29, 3, 30),
        datetime(2026, 3, 30, 2, 30),
        datetime(2026, 3, 31, 2, 30),
    ]
    handoff = shifts[2].start
    assert handoff == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert shifts[1].end - shifts[1].start == 24 * HOUR  # 02:30 CET to 03:30 CEST
    assert shifts[2].end - shifts[2].start == 23 * HOUR  # 03:30 CEST to 02:30 CEST
    assert on_call_at(spec, handoff - timedelta(minutes=1)) == shifts[1].user_id
    assert on_call_at(spec, handoff) == shifts[2].user_id != shifts[1].user_id


def test_handoff_in_the_repeated_hour_is_the_first_of_the_two() -> None:
    # 02:30 happens twice in Berlin on 25 October 2026 (first CEST, then CET).
    spec = rotation(BERLIN, DAYS, 1, wall(BERLIN, date(2026, 10, 22), time(2, 30)))

    shifts = final_schedule(
        spec, wall(BERLIN, date(2026, 10, 24), time(2, 30)), wall(BERLIN, date(2026, 10, 27), time(2, 30))
    )

    assert [shift.start for shift in shifts] == [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first one
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
    ]
    assert [shift.end - shift.start for shift in shifts] == [24 * HOUR, 25 * HOUR, 24 * HOUR]
    # At the second 02:10 the wall clock reads "before 02:30", yet the handoff has already happened.
    second_0210 = wall(BERLIN, date(2026, 10, 25), time(2, 10), fold=1)
    assert on_call_at(spec, second_0210) == shifts[1].user_id != shifts[0].user_id
    (shift,) = final_schedule(spec, second_0210, stored(second_0210) + timedelta(minutes=5))
    assert shift.user_id == shifts[1].user_id


def test_moments_in_the_hour_after_a_missing_handoff_belong_to_the_earlier_shift() -> None:
    # The wall clock reads "after 02:30" from 03:00, but the handoff lands at 03:30.
    spec = rotation(BERLIN, DAYS, 1, wall(BERLIN, date(2026, 3, 26), time(2, 30)))
    before, after = (
        on_call_at(spec, wall(BERLIN, date(2026, 3, 28), time(12))),
        on_call_at(spec, wall(BERLIN, date(2026, 3, 29), time(12))),
    )
    at_0310 = wall(BERLIN, date(2026, 3, 29), time(3, 10))

    (earlier, later) = final_schedule(spec, at_0310, wall(BERLIN, date(2026, 3, 29), time(4)))

    assert on_call_at(spec, at_0310) == before != after
    assert (earlier.start, earlier.end, earlier.user_id) == (
        at_0310,
        wall(BERLIN, date(2026, 3, 29), time(3, 30)),
        before,
    )
    assert later.user_id == after


def test_restriction_opening_in_the_nonexistent_hour_opens_an_hour_later() -> None:
    sunday_early = (Restriction(6, time(2, 30), 6, time(5)),)

    windows = restriction_windows(
        sunday_early, wall(BERLIN, date(2026, 3, 28)), wall(BERLIN, date(2026, 3, 30)), BERLIN
    )

    assert windows == [(wall(BERLIN, date(2026, 3, 29), time(3, 30)), wall(BERLIN, date(2026, 3, 29), time(5)))]


def test_windows_that_overlap_after_a_jump_merge_and_layer_shifts_never_overlap() -> None:
    # Saturday night until 02:30 lands at 03:30 on the spring-forward Sunday, after the 03:00 window opens.
    restrictions = (Restriction(5, time(22), 6, time(2, 30)), Restriction(6, time(3), 6, time(8)))
    layer = LayerSpec(1, HOURS, 2, stored(wall(BERLIN, date(2026, 3, 1), time(0))), (1, 2, 3), restrictions)
    start, end = wall(BERLIN, date(2026, 3, 28), time(12)), wall(BERLIN, date(2026, 3, 29), time(12))

    windows = restriction_windows(restrictions, start, end, BERLIN)
    shifts = layer_shifts(layer, start, end, BERLIN)

    assert windows == [(wall(BERLIN, date(2026, 3, 28), time(22)), wall(BERLIN, date(2026, 3, 29), time(8)))]
    assert all(earlier.end <= later.start for earlier, later in pairwise(shifts))
    assert shifts[0].start == windows[0][0]
    assert shifts[-1].end == windows[0][1]
    assert sum((shift.end - shift.start for shift in shifts), timedelta()) == 9 * HOUR


@pytest.mark.parametrize(
    "first",
    [
        datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1),  # the second 02:30 of the autumn change
        datetime(2026, 3, 28, 23, 30, tzinfo=BERLIN),  # hourly handoffs run into the spring-forward gap
    ],
    ids=["repeated hour", "missing hour"],
)
def test_the_zone_datetimes_are_given_in_does_not_matter(first: datetime) -> None:
    # Aware datetimes that share a tzinfo compare and subtract by wall clock; the answer must not change.
    start, end = stored(first) - 3 * HOUR, stored(first) + 5 * HOUR
    in_utc = ScheduleSpec(BERLIN, (LayerSpec(1, HOURS, 1, stored(first), (1, 2, 3)),))
    in_zone = ScheduleSpec(BERLIN, (LayerSpec(1, HOURS, 1, first, (1, 2, 3)),))

    expected = [(stored(shift.start), stored(shift.end), shift.user_id) for shift in final_schedule(in_utc, start, end)]
    got = [
        (stored(shift.start), stored(shift.end), shift.user_id)
        for shift in final_schedule(in_zone, start.astimezone(BERLIN), end.astimezone(BERLIN))
    ]

    assert expected == [
        (stored(first) + number * HOUR, stored(first) + (number + 1) * HOUR, number % 3 + 1) for number in range(5)
    ]
    assert got == expected
