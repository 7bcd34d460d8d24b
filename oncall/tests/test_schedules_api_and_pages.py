"""Schedules through the API, the pages and the calendar feeds."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import recurring_ical_events
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from icalendar import Calendar
from rest_framework.test import APIClient

from irp_site.groups import RESPONDERS
from oncall.models import Layer, Override, Schedule
from oncall.services import layer_save, override_create

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def people(count: int) -> list[User]:
    group = Group.objects.get(name=RESPONDERS)
    created = []
    for index in range(count):
        user = User.objects.create_user(f"p{index}", email=f"p{index}@example.test", first_name=f"P{index}")
        user.groups.add(group)
        created.append(user)
    return created


def weekly_schedule(members: list[User], *, layers: int = 1, name: str = "Payments primary") -> Schedule:
    schedule = Schedule.objects.create(name=name, time_zone="Europe/London")
    for level in range(1, layers + 1):
        layer_save(
            Layer(
                schedule=schedule,
                name=f"L{level}",
                level=level,
                shift_length=1,
                shift_unit="weeks",
                rotation_start=MONDAY_9,
            ),
            participants=members[level - 1 :] + members[: level - 1],
        )
    return schedule


def test_oncall_endpoint_says_who_is_on_call_at_an_instant(
    responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    alice, bob = people(2)
    schedule = weekly_schedule([alice, bob])

    api = api_client_for(responder)
    first_week = api.get("/api/v1/oncall/", {"at": "2026-11-03T12:00:00Z"}).json()
    second_week = api.get("/api/v1/oncall/", {"at": "2026-11-10T12:00:00+00:00"}).json()
    before_start = api.get("/api/v1/oncall/", {"at": "2026-11-01T12:00:00Z"}).json()

    assert first_week["schedules"] == [
        {
            "schedule": {"id": schedule.pk, "name": schedule.name},
            "on_call": {"id": alice.pk, "username": "p0", "name": "P0"},
            "until": "2026-11-09T09:00:00+00:00",
            "next": {"user": {"id": bob.pk, "username": "p1", "name": "P1"}, "from": "2026-11-09T09:00:00+00:00"},
        }
    ]
    assert second_week["schedules"][0]["on_call"]["id"] == bob.pk
    assert before_start["schedules"][0]["on_call"] is None
    assert before_start["schedules"][0]["next"]["from"] == "2026-11-02T09:00:00+00:00"
    assert "escalation_policies" in first_week


def test_schedule_carries_a_secret_ical_url_that_needs_no_login(
    responder: User, api_client_for: Callable[[User], APIClient], client: Client
) -> None:
    alice, bob = people(2)
    schedule = weekly_schedule([alice, bob])

    body = api_client_for(responder).get(f"/api/v1/schedules/{schedule.pk}/").json()
    feed = client.get(body["ical_url"].replace("http://127.0.0.1:8000", ""))

    assert body["ical_url"].startswith("http")
    assert schedule.calendar_secret in body["ical_url"]
    assert feed.status_code == 200
    assert feed["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    assert calendar.get("version") == "2.0"
    assert client.get("/oncall/calendars/schedule/not-the-secret.ics").status_code == 404


def test_the_ics_feed_yields_exactly_the_shifts_the_api_returns(
    responder: User, api_client_for: Callable[[User], APIClient], client: Client
) -> None:
    alice, bob, carol = people(3)
    schedule = weekly_schedule([alice, bob, carol], layers=2)
    now = timezone.now()
    override_create(
        schedule,
        user=carol,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=5),
        created_by=None,
    )

    feed = Calendar.from_ical(client.get(f"/oncall/calendars/schedule/{schedule.calendar_secret}.ics").content)
    events = recurring_ical_events.of(feed).between(now, now + timedelta(weeks=4))
    api = api_client_for(responder)
    shifts = api.get(
        f"/api/v1/schedules/{schedule.pk}/shifts/",
        {"from": (now + timedelta(days=2)).isoformat(), "to": (now + timedelta(weeks=3)).isoformat()},
    ).json()["shifts"]

    def clip(start: datetime, end: datetime) -> tuple[datetime, datetime]:
        window_start, window_end = now + timedelta(days=2), now + timedelta(weeks=3)
        return max(start, window_start), min(end, window_end)

    from_feed = sorted(
        (*clip(event["DTSTART"].dt, event["DTEND"].dt), event["ATTENDEE"].removeprefix("mailto:"))
        for event in events
        if event["DTEND"].dt > now + timedelta(days=2) and event["DTSTART"].dt < now + timedelta(weeks=3)
    )
    from_api = sorted(
        (
            datetime.fromisoformat(shift["start"]),
            datetime.fromisoformat(shift["end"]),
            f"{shift['user']['username']}@example.test",
        )
        for shift in shifts
    )
    assert from_api
    assert from_feed == from_api


def test_a_person_has_their_own_feed(client: Client) -> None:
    alice, bob = people(2)
    weekly_schedule([alice, bob])
    from oncall.services import profile_for

    feed = Calendar.from_ical(client.get(f"/oncall/calendars/person/{profile_for(alice).calendar_secret}.ics").content)

    attendees = {str(event["ATTENDEE"]) for event in feed.walk("VEVENT")}
    assert attendees == {"mailto:p0@example.test"}


def test_shift_swap_becomes_an_override(responder: User, api_client_for: Callable[[User], APIClient]) -> None:
    alice, bob = people(2)
    schedule = weekly_schedule([alice, bob])
    start = datetime(2026, 11, 4, 9, tzinfo=UTC)

    asked = api_client_for(alice).post(
        "/api/v1/shift-swaps/",
        {
            "schedule": schedule.pk,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=8)).isoformat(),
            "note": "Dentist",
        },
    )
    taken = api_client_for(bob).post(f"/api/v1/shift-swaps/{asked.json()['id']}/accept/")
    again = api_client_for(bob).post(f"/api/v1/shift-swaps/{asked.json()['id']}/accept/")
    at = api_client_for(responder).get("/api/v1/oncall/", {"at": (start + timedelta(hours=1)).isoformat()}).json()

    assert asked.status_code == 201, asked.content
    assert taken.status_code == 200
    assert taken.json()["status"] == "done"
    assert again.status_code == 409
    assert at["schedules"][0]["on_call"]["id"] == bob.pk
    assert Override.objects.get().reason.startswith("Shift swap")


def test_a_swap_on_a_schedule_that_needs_approval_waits_for_the_owner(
    api_client_for: Callable[[User], APIClient],
) -> None:
    alice, bob, owner = people(3)
    schedule = weekly_schedule([alice, bob])
    Schedule.objects.filter(pk=schedule.pk).update(swaps_need_approval=True, owner=owner)
    start = datetime(2026, 11, 4, 9, tzinfo=UTC)
    swap = (
        api_client_for(alice)
        .post(
            "/api/v1/shift-swaps/",
            {
                "schedule": schedule.pk,
                "taker": bob.pk,
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=8)).isoformat(),
            },
        )
        .json()
    )

    accepted = api_client_for(bob).post(f"/api/v1/shift-swaps/{swap['id']}/accept/").json()
    not_owner = api_client_for(alice).post(f"/api/v1/shift-swaps/{swap['id']}/approve/")
    approved = api_client_for(owner).post(f"/api/v1/shift-swaps/{swap['id']}/approve/").json()

    assert accepted["status"] == "accepted"
    assert not_owner.status_code == 409
    assert approved["status"] == "done"
    assert Override.objects.get().user == bob


BAD = [
    (
        "/api/v1/overrides/",
        lambda s, u: {
            "schedule": s.pk,
            "user": u.pk,
            "starts_at": "2026-11-05T10:00:00Z",
            "ends_at": "2026-11-05T09:00:00Z",
        },
        "ends_at",
    ),
    (
        "/api/v1/layers/",
        lambda s, u: {
            "schedule": s.pk,
            "name": "x",
            "shift_length": 1,
            "shift_unit": "weeks",
            "rotation_start": "2026-11-02T09:00:00Z",
            "participants": [],
        },
        "participants",
    ),
    (
        "/api/v1/layers/",
        lambda s, u: {
            "schedule": s.pk,
            "name": "x",
            "shift_length": 0,
            "shift_unit": "weeks",
            "rotation_start": "2026-11-02T09:00:00Z",
            "participants": [u.pk],
        },
        "shift_length",
    ),
    (
        "/api/v1/layers/",
        lambda s, u: {
            "schedule": s.pk,
            "name": "x",
            "shift_length": 1,
            "shift_unit": "fortnights",
            "rotation_start": "2026-11-02T09:00:00Z",
            "participants": [u.pk],
        },
        "shift_unit",
    ),
    (
        "/api/v1/layers/",
        lambda s, u: {
            "schedule": s.pk,
            "name": "x",
            "shift_length": 1,
            "shift_unit": "days",
            "rotation_start": "2026-11-02T09:00:00Z",
            "participants": [u.pk],
            "restrictions": [{"start_day": 9, "start_time": "09:00", "end_day": 0, "end_time": "17:00"}],
        },
        "restrictions",
    ),
    ("/api/v1/schedules/", lambda s, u: {"name": "Mars", "time_zone": "Mars/Olympus_Mons"}, "time_zone"),
]


@pytest.mark.parametrize(("path", "build", "field"), BAD)
def test_bad_schedule_input_is_a_400_naming_the_field_and_changes_nothing(
    plan_owner: User, api_client_for: Callable[[User], APIClient], path: str, build: Any, field: str
) -> None:
    Group.objects.get(name=RESPONDERS).user_set.add(plan_owner)
    (alice,) = people(1)
    schedule = weekly_schedule([alice])
    before = (Schedule.objects.count(), Layer.objects.count(), Override.objects.count())

    response = api_client_for(plan_owner).post(path, build(schedule, alice), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert (Schedule.objects.count(), Layer.objects.count(), Override.objects.count()) == before


def test_unreadable_instants_are_a_400(responder: User, api_client_for: Callable[[User], APIClient]) -> None:
    response = api_client_for(responder).get("/api/v1/oncall/", {"at": "tomorrow"})

    assert response.status_code == 400
    assert "at" in response.json()


@pytest.mark.parametrize("participants", [3, 30])
def test_two_week_calendar_renders_in_a_bounded_number_of_queries(
    client: Client, responder: User, django_assert_max_num_queries: Any, participants: int
) -> None:
    schedule = weekly_schedule(people(participants), layers=3)
    client.force_login(responder)

    with django_assert_max_num_queries(14):
        response = client.get(f"/oncall/schedules/{schedule.pk}/")

    assert response.status_code == 200
    assert "Final schedule" in response.content.decode()


def test_who_is_on_call_now_page_and_my_shifts(client: Client) -> None:
    alice, bob = people(2)
    Schedule.objects.all().delete()
    start = timezone.now() - timedelta(days=1)
    schedule = Schedule.objects.create(name="Web primary", time_zone="UTC")
    layer_save(
        Layer(schedule=schedule, name="Daily", shift_length=1, shift_unit="days", rotation_start=start),
        participants=[alice, bob],
    )
    client.force_login(alice)

    now_page = client.get("/oncall/").content.decode()
    mine = client.get("/oncall/mine/").content.decode()

    assert "Web primary" in now_page
    assert "<strong>P1</strong>" in now_page  # day 2 of a daily alice/bob rotation: bob
    assert "Web primary" in mine
    assert "/oncall/calendars/person/" in mine


def test_calendar_secrets_rotate_and_old_links_stop_working(
    plan_owner: User, api_client_for: Callable[[User], APIClient], client: Client
) -> None:
    from oncall.services import profile_for

    (alice,) = people(1)
    schedule = weekly_schedule([alice])
    old_schedule_url = f"/oncall/calendars/schedule/{schedule.calendar_secret}.ics"
    old_person_url = f"/oncall/calendars/person/{profile_for(alice).calendar_secret}.ics"

    rotated = api_client_for(plan_owner).post(f"/api/v1/schedules/{schedule.pk}/rotate-calendar-secret/")
    client.force_login(alice)
    client.post("/oncall/mine/rotate-calendar-link/")

    assert rotated.status_code == 200
    assert client.get(old_schedule_url).status_code == 404
    assert client.get(rotated.json()["ical_url"].replace("http://127.0.0.1:8000", "")).status_code == 200
    assert client.get(old_person_url).status_code == 404
    assert client.get(f"/oncall/calendars/person/{profile_for(alice).calendar_secret}.ics").status_code == 200
