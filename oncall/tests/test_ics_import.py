"""ICS import: another tool's calendar becomes a layer (or, when irregular, overrides) that gives
back exactly the shifts in the file."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from icalendar import Calendar
from rest_framework.test import APIClient

from irp_site.groups import RESPONDERS
from oncall.ics_import import (
    MAX_UPLOAD_BYTES,
    IcsImportError,
    ImportedShift,
    ImportResult,
    PeopleIndex,
    Person,
    ProblemKind,
    detect_rotation,
    schedule_import_ics,
)
from oncall.models import Layer, LayerMember, Override, Schedule
from oncall.selectors import schedules_with_rotations, shifts_between
from oncall.services import layer_save, override_create

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
BERLIN = ZoneInfo("Europe/Berlin")
# The hand-kept fixture's events are in November 2026; its tests import as if it were then.
NOVEMBER = datetime(2026, 11, 10, 12, tzinfo=UTC)
# The window from two weeks before this holds Berlin's clock change of 25 October 2026.
AFTER_THE_CLOCK_CHANGE = datetime(2026, 10, 30, tzinfo=UTC)

Triple = tuple[datetime, datetime, int]


@pytest.fixture
def team() -> dict[str, User]:
    responders = Group.objects.get(name=RESPONDERS)
    cast = {
        "jane": User.objects.create_user(
            "jdoe", email="jane.doe@example.test", first_name="Jane", last_name="Doe", password="pw"
        ),
        "max": User.objects.create_user(
            "max", email="max.mustermann@example.test", first_name="Max", last_name="Mustermann", password="pw"
        ),
        "li": User.objects.create_user("lwei", email="li.wei@example.test", first_name="Li", last_name="Wei"),
    }
    for user in cast.values():
        user.groups.add(responders)
    return cast


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def calendar(*events: str) -> bytes:
    body = "".join(
        f"BEGIN:VEVENT\nUID:{index}@test\nDTSTAMP:20260101T000000Z\n{event.strip()}\nEND:VEVENT\n"
        for index, event in enumerate(events)
    )
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//IRP tests//EN\n{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def final(schedule: Schedule, start: datetime, end: datetime) -> list[Triple]:
    loaded = schedules_with_rotations(Schedule.objects.filter(pk=schedule.pk)).get()
    return [(shift.start, shift.end, shift.user_id) for shift in shifts_between([loaded], start, end)[schedule.pk]]


def joined_within(shifts: Iterable[ImportedShift], start: datetime, end: datetime) -> list[Triple]:
    """The shifts as the final schedule shows them: clipped to [start, end), neighbours of one person joined."""
    result: list[Triple] = []
    for shift in shifts:
        piece = (max(shift.start, start), min(shift.end, end), shift.user_id)
        if piece[0] >= piece[1]:
            continue
        if result and result[-1][2] == piece[2] and result[-1][1] == piece[0]:
            result[-1] = (result[-1][0], piece[1], piece[2])
        else:
            result.append(piece)
    return result


def assert_reproduces(schedule: Schedule, result: ImportResult) -> None:
    expected = joined_within(result.shifts, *result.window)
    assert expected
    assert final(schedule, *result.window) == expected


def import_via_api(api: APIClient, schedule: Schedule, content: bytes, name: str = "oncall.ics", **extra: Any) -> Any:
    return api.post(
        f"/api/v1/schedules/{schedule.pk}/import-ics/",
        {"file": SimpleUploadedFile(name, content, content_type="text/calendar"), **extra},
        format="multipart",
    )


def rows() -> tuple[int, int, int, int]:
    return (Schedule.objects.count(), Layer.objects.count(), LayerMember.objects.count(), Override.objects.count())


def is_rotation_of(members: list[int], order: list[int]) -> bool:
    return any(members == order[turn:] + order[:turn] for turn in range(len(order)))


# Round trip through IRP's own feed ----------------------------------------------------------


def payments_rotation(members: list[User]) -> Schedule:
    schedule = Schedule.objects.create(name="Payments primary", time_zone="Europe/Berlin")
    layer_save(
        Layer(
            schedule=schedule,
            name="Weekly",
            shift_unit="weeks",
            shift_length=1,
            rotation_start=datetime(2025, 1, 6, 9, tzinfo=BERLIN),
        ),
        participants=members,
    )
    return schedule


def exported(client: Client, schedule: Schedule) -> tuple[bytes, datetime]:
    """The schedule's ICS feed, and the end of the last shift in it."""
    body = client.get(f"/oncall/calendars/schedule/{schedule.calendar_secret}.ics").content
    ends = [event.decoded("DTEND") for event in Calendar.from_ical(body).walk("VEVENT")]
    return body, max(ends)


def test_a_weekly_rotation_exported_and_imported_again_is_the_same_weekly_rotation(
    client: Client, plan_owner: User, team: dict[str, User], api_client_for: Callable[[User], APIClient]
) -> None:
    order = [team["jane"], team["max"], team["li"]]
    source = payments_rotation(order)
    body, feed_end = exported(client, source)
    target = Schedule.objects.create(name="Payments (moved)", time_zone="Europe/Berlin")

    response = import_via_api(api_client_for(plan_owner), target, body, name="payments.ics")

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["result"] == "layer"
    layer = Layer.objects.get(pk=answer["layer"])
    assert (layer.shift_unit, layer.shift_length, layer.level) == ("weeks", 1, 1)
    assert layer.name == "Imported from payments.ics"
    assert layer.ends_at == feed_end  # the feed stops there, so does the imported rotation
    assert is_rotation_of([member.user_id for member in layer.members.all()], [user.pk for user in order])
    # The feed's first shift is cut at its start, two weeks back: it comes over as an override.
    assert len(answer["overrides"]) <= 1
    window_start = datetime.fromisoformat(answer["window"]["from"])
    assert final(target, window_start, feed_end) == final(source, window_start, feed_end)
    assert answer["problems"] == []


def test_a_schedule_with_an_override_round_trips_as_overrides(
    client: Client, plan_owner: User, team: dict[str, User]
) -> None:
    source = payments_rotation([team["jane"], team["max"]])
    # iCalendar times have whole seconds.
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    override_create(
        source,
        user=team["li"],
        starts_at=start,
        ends_at=start + timedelta(hours=6),
        created_by=None,
    )
    body, feed_end = exported(client, source)
    target = Schedule.objects.create(name="Payments (moved)", time_zone="Europe/Berlin")

    result = schedule_import_ics(target, body, filename="payments.ics", created_by=plan_owner)

    assert result.layer is None
    assert {override.reason for override in result.overrides} == {"Imported from payments.ics"}
    assert final(target, result.window[0], feed_end) == final(source, result.window[0], feed_end)


# Another tool's calendars --------------------------------------------------------------------


def test_another_tools_weekly_calendar_becomes_a_layer_that_keeps_rotating(
    plan_owner: User, team: dict[str, User], api_client_for: Callable[[User], APIClient]
) -> None:
    schedule = Schedule.objects.create(name="Payments", time_zone="Europe/Berlin")
    existing = layer_save(
        Layer(schedule=schedule, name="Old", level=3, shift_unit="days", rotation_start=timezone.now()),
        participants=[plan_owner],
    )
    content = fixture("weekly_berlin_attendees.ics")

    response = import_via_api(api_client_for(plan_owner), schedule, content, name="payments-primary.ics")

    assert response.status_code == 201, response.content
    layer = Layer.objects.get(pk=response.json()["layer"])
    assert (layer.shift_unit, layer.shift_length) == ("weeks", 1)
    assert layer.level == existing.level + 1  # on top of what the schedule had
    assert layer.ends_at is None  # the file's rotation repeats for ever
    assert is_rotation_of(
        [member.user_id for member in layer.members.all()], [team["jane"].pk, team["max"].pk, team["li"].pk]
    )
    # Mondays 10:00 in Berlin, summer and winter alike.
    assert layer.rotation_start.astimezone(BERLIN).strftime("%a %H:%M") == "Mon 10:00"
    # Beyond the weeks imported, the layer goes on exactly as the file's recurrence does.
    later = timezone.now() + timedelta(weeks=30)
    events = recurring_ical_events.of(Calendar.from_ical(content)).between(later, later + timedelta(weeks=6))
    emails = {user.email.casefold(): user.pk for user in team.values()}
    in_file = [
        (
            event.decoded("DTSTART").astimezone(UTC),
            event.decoded("DTEND").astimezone(UTC),
            emails[str(event["ATTENDEE"])[7:].casefold()],
        )
        for event in sorted(events, key=lambda item: item.decoded("DTSTART"))
    ]
    first, last = in_file[1][0], in_file[-1][0]
    in_irp = final(schedule, first, last)
    assert in_irp == in_file[1:-1]


def test_the_layer_reproduces_the_files_shifts_in_the_window(plan_owner: User, team: dict[str, User]) -> None:
    schedule = Schedule.objects.create(name="Payments", time_zone="Europe/Berlin")

    result = schedule_import_ics(
        schedule, fixture("weekly_berlin_attendees.ics"), filename="primary.ics", created_by=plan_owner, weeks_ahead=30
    )

    assert result.layer is not None
    assert result.problems == ()
    assert_reproduces(schedule, result)
    assert "form a rotation" in result.describe()


def test_an_irregular_hand_kept_calendar_becomes_overrides_with_its_problems_named(
    plan_owner: User, team: dict[str, User]
) -> None:
    jane, max_, li = team["jane"].pk, team["max"].pk, team["li"].pk
    schedule = Schedule.objects.create(name="Web", time_zone="Europe/Berlin")

    result = schedule_import_ics(
        schedule, fixture("irregular_hand_kept.ics"), filename="rota.ics", created_by=plan_owner, now=NOVEMBER
    )

    def utc(day: int, hour: int) -> datetime:
        return datetime(2026, 11, day, hour, tzinfo=UTC)

    assert result.layer is None
    assert final(schedule, *result.window) == [
        (utc(2, 8), utc(5, 8), jane),  # "On call: Jane Doe"
        (utc(5, 8), utc(9, 8), max_),  # "Max Mustermann (Primary)"
        (utc(9, 8), utc(10, 20), li),  # "lwei", a username
        (utc(10, 20), utc(16, 8), jane),  # "ON CALL – JANE DOE"
        # 16th–18th: "Zed Unknown" has no account, so nobody
        (utc(18, 8), utc(23, 8), max_),
        (utc(23, 8), utc(23, 23), jane),  # overlapped Max's shift, so starts when his ends
        (utc(23, 23), utc(25, 23), li),  # all-day 24–25 Nov: Berlin midnight to midnight
        (utc(25, 23), utc(27, 11), jane),  # floating 00:00 Berlin for 36 hours; named by e-mail
    ]
    assert {override.reason for override in result.overrides} == {"Imported from rota.ics"}
    assert all(override.created_by == plan_owner for override in result.overrides)
    kinds = [problem.kind for problem in result.problems]
    assert sorted(kinds) == sorted([ProblemKind.UNKNOWN_PERSON, ProblemKind.OVERLAP, ProblemKind.ALL_DAY])
    unknown = next(problem for problem in result.problems if problem.kind == ProblemKind.UNKNOWN_PERSON)
    assert "zed@elsewhere.example" in unknown.message
    assert "do not form a regular rotation" in result.describe()


def test_people_without_an_account_are_reported_and_the_rest_imported(
    plan_owner: User, team: dict[str, User], api_client_for: Callable[[User], APIClient]
) -> None:
    team["li"].delete()
    schedule = Schedule.objects.create(name="Payments", time_zone="Europe/Berlin")

    response = import_via_api(api_client_for(plan_owner), schedule, fixture("weekly_berlin_attendees.ics"))

    assert response.status_code == 201, response.content
    answer = response.json()
    # Li's weeks are holes now, so the rest is no longer a rotation.
    assert answer["result"] == "overrides"
    (problem,) = answer["problems"]
    assert problem["kind"] == "unknown_person"
    assert "li.wei@example.test" in problem["message"]
    assert " times from " in problem["message"]  # one line for the whole weekly series
    on_call = {user_id for _, _, user_id in final(schedule, timezone.now(), timezone.now() + timedelta(weeks=12))}
    assert on_call == {team["jane"].pk, team["max"].pk}


def test_an_event_that_could_mean_two_people_is_reported(plan_owner: User, team: dict[str, User]) -> None:
    User.objects.create_user("jane2", email="jane@elsewhere.example", first_name="Jane", last_name="Doe")
    schedule = Schedule.objects.create(name="Web", time_zone="UTC")
    content = calendar(
        "DTSTART:20261109T090000Z\nDTEND:20261110T090000Z\nSUMMARY:On call: Jane Doe",
        "DTSTART:20261110T090000Z\nDTEND:20261111T090000Z\nSUMMARY:On call: Max Mustermann",
    )

    result = schedule_import_ics(schedule, content, filename="web.ics", created_by=plan_owner, now=NOVEMBER)

    assert [shift.user_id for shift in result.shifts] == [team["max"].pk]
    (problem,) = result.problems
    assert problem.kind == ProblemKind.AMBIGUOUS_PERSON
    assert "could mean any of jane2, jdoe" in problem.message


@pytest.mark.parametrize(
    ("events", "unit", "length", "participants", "handoff"),
    [
        pytest.param(
            # Daily 09:00 hand-offs in Berlin across the October clock change: 25 hours that day.
            [f"DTSTART;TZID=Europe/Berlin:202610{day:02}T090000\n"
             f"DTEND;TZID=Europe/Berlin:202610{day + 1:02}T090000\nSUMMARY:{who}"
             for day, who in zip(range(20, 30), ["jdoe", "max"] * 5, strict=True)],
            "days", 1, ["jane", "max"], "09:00", id="daily-09:00-across-DST",
        ),
        pytest.param(
            # Exactly 24 hours each, so the hand-off moves to 08:00 on the wall clock after the change.
            [f"DTSTART:{(datetime(2026, 10, 20, 7, tzinfo=UTC) + timedelta(days=index)):%Y%m%dT%H%M%SZ}\n"
             f"DURATION:PT24H\nSUMMARY:{who}"
             for index, who in enumerate(["jdoe", "max"] * 5)],
            "hours", 24, ["jane", "max"], "09:00", id="24-hours-across-DST",
        ),
        pytest.param(
            [f"DTSTART:{(datetime(2026, 11, 2, 6, tzinfo=UTC) + timedelta(hours=12 * index)):%Y%m%dT%H%M%SZ}\n"
             f"DURATION:PT12H\nSUMMARY:On call: {who}"
             for index, who in enumerate(["Jane Doe", "Max Mustermann", "Li Wei"] * 4)],
            "hours", 12, ["jane", "max", "li"], "07:00", id="follow-the-sun-12h",
        ),
        pytest.param(
            [f"DTSTART;VALUE=DATE:{date(2026, 11, 2) + timedelta(days=2 * index):%Y%m%d}\n"
             f"DTEND;VALUE=DATE:{date(2026, 11, 4) + timedelta(days=2 * index):%Y%m%d}\nSUMMARY:{who}"
             for index, who in enumerate(["Li Wei", "Jane Doe"] * 4)],
            "days", 2, ["li", "jane"], "00:00", id="all-day-two-day-shifts",
        ),
        pytest.param(
            # Jane two weeks, then Max one: a rotation whose order names Jane twice.
            [f"DTSTART;TZID=Europe/Berlin:{date(2026, 11, 2) + timedelta(weeks=index):%Y%m%d}T100000\n"
             f"DTEND;TZID=Europe/Berlin:{date(2026, 11, 9) + timedelta(weeks=index):%Y%m%d}T100000\nSUMMARY:{who}"
             for index, who in enumerate(["jdoe", "jdoe", "max"] * 3)],
            "weeks", 1, ["jane", "jane", "max"], "10:00", id="weekly-with-a-double-turn",
        ),
    ],
)  # fmt: skip
def test_regular_calendars_become_layers_of_the_right_unit(
    plan_owner: User,
    team: dict[str, User],
    events: list[str],
    unit: str,
    length: int,
    participants: list[str],
    handoff: str,
) -> None:
    schedule = Schedule.objects.create(name="Web", time_zone="Europe/Berlin")
    content = calendar(*events)

    result = schedule_import_ics(
        schedule, content, filename="web.ics", created_by=plan_owner, now=AFTER_THE_CLOCK_CHANGE
    )

    layer = result.layer
    assert layer is not None, result.describe()
    assert (layer.shift_unit, layer.shift_length) == (unit, length)
    assert [member.user_id for member in layer.members.all()] == [team[name].pk for name in participants]
    assert layer.rotation_start.astimezone(BERLIN).strftime("%H:%M") == handoff
    assert layer.ends_at == result.shifts[-1].end  # the file stops, so does the layer
    assert result.overrides == ()
    assert_reproduces(schedule, result)


def test_a_gap_or_a_changing_length_is_not_a_rotation() -> None:
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    day = timedelta(days=1)
    with_gap = [ImportedShift(start, start + day, 1), ImportedShift(start + 2 * day, start + 3 * day, 2)]
    lengths = [3, 1, 4, 1, 5, 9, 2, 6]
    changing = [
        ImportedShift(start + sum(lengths[:index]) * day, start + sum(lengths[: index + 1]) * day, index % 2 + 1)
        for index in range(len(lengths))
    ]

    assert detect_rotation(with_gap, BERLIN) is None
    assert detect_rotation(changing, BERLIN) is None


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("On call: Jane Doe", {1}),
        ("Jane Doe (Primary)", {1}),
        ("ON CALL - JANE DOE - Payments", {1}),
        ("jdoe", {1}),
        ("Primary: jane.doe@example.test", {1}),
        ("Jane Doerr", set()),
        ("Jane Doe covers for Max Mustermann", {1, 2}),
        ("Anne-Marie O'Brien", {3}),
        ("Anne", set()),
        ("ops", {4}),
    ],
)
def test_a_summary_names_a_person_by_full_name_username_or_e_mail(summary: str, expected: set[int]) -> None:
    index = PeopleIndex(
        [
            Person(1, "jdoe", "jane.doe@example.test", "Jane Doe"),
            Person(2, "max", "max@example.test", "Max Mustermann"),
            Person(3, "amob", "", "Anne-Marie O'Brien"),
            Person(4, "ops", "", "Jane"),
        ]
    )

    assert index.identify([], [], summary) == expected


def test_the_attendee_wins_over_the_summary_and_its_name_counts_too() -> None:
    index = PeopleIndex([Person(1, "jdoe", "jane.doe@example.test", "Jane Doe"), Person(2, "max", "", "Max Power")])

    assert index.identify(["JANE.DOE@EXAMPLE.TEST"], [], "On call: Max Power") == {1}
    assert index.identify(["unknown@example.test"], ["Max Power"], "On call") == {2}
    assert index.identify(["jane.doe@example.test", "someone@example.test"], [], "Jane Doe") == {1}


def test_an_event_lasting_for_ever_is_cut_to_a_year_either_side_of_the_window(
    plan_owner: User, team: dict[str, User]
) -> None:
    schedule = Schedule.objects.create(name="Web", time_zone="UTC")
    content = calendar("DTSTART:19000101T000000Z\nDTEND:22000101T000000Z\nSUMMARY:On call: Jane Doe")

    result = schedule_import_ics(schedule, content, filename="always.ics", created_by=plan_owner, now=NOVEMBER)

    (shift,) = result.shifts
    assert (shift.start, shift.end) == (result.window[0] - timedelta(days=366), result.window[1] + timedelta(days=366))
    assert result.layer is not None
    assert_reproduces(schedule, result)


def test_importing_a_file_of_the_same_name_again_replaces_the_earlier_import(
    plan_owner: User, team: dict[str, User]
) -> None:
    schedule = Schedule.objects.create(name="Web", time_zone="Europe/Berlin")
    kept = override_create(
        schedule, user=team["li"], starts_at=NOVEMBER, ends_at=NOVEMBER + timedelta(hours=1), created_by=None
    )
    content = fixture("irregular_hand_kept.ics")

    first = schedule_import_ics(schedule, content, filename="rota.ics", created_by=plan_owner, now=NOVEMBER)
    again = schedule_import_ics(schedule, content, filename="rota.ics", created_by=plan_owner, now=NOVEMBER)

    assert again.replaced == len(first.overrides)
    assert set(schedule.overrides.all()) == {kept, *again.overrides}


# Bad input ------------------------------------------------------------------------------------

BAD_FILES = [
    pytest.param(b"Hello, this is a text file.\n", "not an iCalendar", id="text"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary", id="binary"),
    pytest.param(b"   \r\n", "empty", id="blank"),
    pytest.param(b"\xff\xfeB\x00E\x00G\x00", "binary", id="utf-16"),
    pytest.param(b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jane Doe\r\nEND:VCARD\r\n", "not an iCalendar", id="vcard"),
    pytest.param(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no events", id="no-events"),
    pytest.param(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:x\r\n", "not valid iCalendar", id="truncated"),
    pytest.param(
        calendar("DTSTART:next monday\nDTEND:20261110T090000Z\nSUMMARY:Jane Doe"), "could not be read", id="bad-dtstart"
    ),
    pytest.param(
        calendar("DTSTART:20200101T000000Z\nDURATION:PT1M\nRRULE:FREQ=MINUTELY\nSUMMARY:Jane Doe"),
        "hourly at most",
        id="every-minute",
    ),
    pytest.param(
        calendar("DTSTART:00010101T000000Z\nDTEND:99991231T000000Z\nSUMMARY:Jane Doe"), "could not be read", id="year-1"
    ),
    pytest.param(
        calendar("DTSTART:20261109T090000Z\nDURATION:PT1H\nRRULE:FREQ=DAILY;INTERVAL=often\nSUMMARY:Jane Doe"),
        "cannot be read",
        id="bad-rule",
    ),
    pytest.param(
        calendar("DTSTART:19700101T000000Z\nDURATION:PT1H\nRRULE:FREQ=HOURLY\nSUMMARY:Jane Doe"),
        "too long to expand",
        id="hourly-since-1970",
    ),
    pytest.param(
        calendar("DTSTART:20200106T090000Z\nDTEND:20200113T090000Z\nSUMMARY:Jane Doe"), "None of the file", id="old"
    ),
    pytest.param(
        calendar("DTSTART:20900102T090000Z\nDTEND:20900109T090000Z\nRRULE:FREQ=WEEKLY\nSUMMARY:Nobody Known"),
        "None of the file",
        id="far-future",
    ),
    pytest.param(
        calendar("DTSTART:20261109T090000Z\nDTEND:20261116T090000Z\nRRULE:FREQ=WEEKLY\nSUMMARY:On call: Zed"),
        "names a person",
        id="nobody-known",
    ),
    pytest.param(
        b"BEGIN:VCALENDAR\r\n" + b"X-PAD:" + b"x" * MAX_UPLOAD_BYTES + b"\r\nEND:VCALENDAR\r\n", "1 MB", id="over-1MB"
    ),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
def test_a_file_that_cannot_be_imported_is_a_400_naming_the_file_and_changes_nothing(
    plan_owner: User,
    team: dict[str, User],
    api_client_for: Callable[[User], APIClient],
    content: bytes,
    message: str,
) -> None:
    schedule = payments_rotation([team["jane"], team["max"]])
    before = rows()

    response = import_via_api(api_client_for(plan_owner), schedule, content)

    assert response.status_code == 400, response.content
    assert message.casefold() in " ".join(response.json()["file"]).casefold(), response.json()
    assert rows() == before


def test_an_empty_upload_a_missing_file_and_bad_weeks_are_400s_naming_the_field(
    plan_owner: User, team: dict[str, User], api_client_for: Callable[[User], APIClient]
) -> None:
    schedule = payments_rotation([team["jane"]])
    api = api_client_for(plan_owner)
    url = f"/api/v1/schedules/{schedule.pk}/import-ics/"
    before = rows()

    empty = import_via_api(api, schedule, b"")
    missing = api.post(url, {"weeks_ahead": 4}, format="multipart")
    weeks = import_via_api(api, schedule, fixture("weekly_berlin_attendees.ics"), weeks_ahead=0)
    as_json = api.post(url, {"file": "BEGIN:VCALENDAR"}, format="json")

    assert (empty.status_code, list(empty.json())) == (400, ["file"])
    assert (missing.status_code, list(missing.json())) == (400, ["file"])
    assert (weeks.status_code, list(weeks.json())) == (400, ["weeks_ahead"])
    assert as_json.status_code == 415
    assert rows() == before


def test_nobody_known_lists_the_problems_with_the_400(
    plan_owner: User, team: dict[str, User], api_client_for: Callable[[User], APIClient]
) -> None:
    schedule = Schedule.objects.create(name="Web", time_zone="UTC")
    content = calendar(
        "DTSTART:20261109T090000Z\nDTEND:20261116T090000Z\nRRULE:FREQ=WEEKLY\nSUMMARY:On call: Zed\n"
        "ATTENDEE:mailto:zed@elsewhere.example"
    )

    answer = import_via_api(api_client_for(plan_owner), schedule, content).json()

    assert [problem["kind"] for problem in answer["problems"]] == ["unknown_person"]


def test_only_people_who_may_change_the_schedule_import(
    responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    schedule = Schedule.objects.create(name="Web", time_zone="UTC")

    response = import_via_api(api_client_for(responder), schedule, fixture("weekly_berlin_attendees.ics"))

    assert response.status_code == 403
    assert rows() == (1, 0, 0, 0)


def test_the_service_refuses_before_writing_anything(plan_owner: User) -> None:
    schedule = Schedule.objects.create(name="Web", time_zone="UTC")

    with pytest.raises(IcsImportError, match="not an iCalendar"):
        schedule_import_ics(schedule, b"<html></html>", filename="x.ics", created_by=plan_owner)

    assert rows() == (1, 0, 0, 0)


# The admin page ------------------------------------------------------------------------------


def test_the_admin_imports_an_ics_file_from_the_schedule_page(
    client: Client, plan_owner: User, team: dict[str, User]
) -> None:
    schedule = Schedule.objects.create(name="Payments", time_zone="Europe/Berlin")
    client.force_login(plan_owner)
    change_page = client.get(f"/admin/oncall/schedule/{schedule.pk}/change/").content.decode()
    form_page = client.get(f"/admin/oncall/schedule/{schedule.pk}/import-ics/")

    posted = client.post(
        f"/admin/oncall/schedule/{schedule.pk}/import-ics/",
        {"file": SimpleUploadedFile("primary.ics", fixture("weekly_berlin_attendees.ics")), "weeks_ahead": 12},
        follow=True,
    )

    assert f'href="/admin/oncall/schedule/{schedule.pk}/import-ics/"' in change_page
    assert form_page.status_code == 200
    assert 'enctype="multipart/form-data"' in form_page.content.decode()
    assert posted.redirect_chain[-1][0] == f"/admin/oncall/schedule/{schedule.pk}/change/"
    assert "created the layer “Imported from primary.ics”" in posted.content.decode()
    assert schedule.layers.get().name == "Imported from primary.ics"


def test_the_admin_shows_why_a_file_was_refused(client: Client, plan_owner: User) -> None:
    schedule = Schedule.objects.create(name="Payments", time_zone="Europe/Berlin")
    client.force_login(plan_owner)

    response = client.post(
        f"/admin/oncall/schedule/{schedule.pk}/import-ics/",
        {"file": SimpleUploadedFile("photo.ics", b"\x89PNG\r\n\x1a\n\x00\x00"), "weeks_ahead": 12},
    )

    assert response.status_code == 200
    assert "This is a binary file, not an iCalendar (.ics) file." in response.content.decode()
    assert rows() == (1, 0, 0, 0)


def test_the_admin_import_page_needs_the_right_to_change_schedules(client: Client, responder: User) -> None:
    schedule = Schedule.objects.create(name="Payments", time_zone="Europe/Berlin")
    responder.is_staff = True
    responder.save()
    client.force_login(responder)

    assert client.get(f"/admin/oncall/schedule/{schedule.pk}/import-ics/").status_code == 403
