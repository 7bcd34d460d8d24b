from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from oncall.handoffs import handoff_notices_plan
from oncall.models import HandoffNotice, Layer, Schedule
from oncall.services import layer_save

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def daily() -> tuple[User, User]:
    alice = User.objects.create_user("alice")
    bob = User.objects.create_user("bob")
    schedule = Schedule.objects.create(name="Daily", time_zone="UTC")
    layer_save(
        Layer(schedule=schedule, name="L", shift_length=1, shift_unit="days", rotation_start=START),
        participants=[alice, bob],
    )
    return alice, bob


def test_notices_are_written_ahead_as_due_work_once(daily: tuple[User, User]) -> None:

    now = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)  # alice's shift ends and bob's starts at 09:00

    created = handoff_notices_plan(now)
    again = handoff_notices_plan(now + timedelta(minutes=1))

    notices = {(notice.user.username, notice.kind, notice.due_at) for notice in HandoffNotice.objects.all()}
    assert created == 2
    assert again == 0
    assert notices == {
        ("bob", "starting", now),  # less than an hour ahead: due at once
        ("alice", "ended", datetime(2026, 11, 3, 9, tzinfo=UTC)),
    }
    assert [n.user.username for n in HandoffNotice.objects.due(now)] == ["bob"]


def test_a_start_two_hours_ahead_is_due_one_hour_before(daily: tuple[User, User]) -> None:
    now = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)

    handoff_notices_plan(now)

    starting = HandoffNotice.objects.get(kind="starting")
    assert starting.user.username == "bob"
    assert starting.due_at == datetime(2026, 11, 3, 8, tzinfo=UTC)
    assert not HandoffNotice.objects.due(now).exists()


def test_the_same_person_on_consecutive_shifts_gets_no_handoff() -> None:
    alice = User.objects.create_user("alice")
    schedule = Schedule.objects.create(name="Solo", time_zone="UTC")
    layer_save(
        Layer(schedule=schedule, name="L", shift_length=1, shift_unit="days", rotation_start=START),
        participants=[alice],
    )

    assert handoff_notices_plan(datetime(2026, 11, 3, 8, 30, tzinfo=UTC)) == 0


def test_due_notices_are_delivered_once_through_the_persons_low_urgency_rules(
    daily: tuple[User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    from oncall import deliveries
    from oncall.handoffs import handoff_notices_send
    from oncall.models import ContactMethod, Delivery, NotificationRule, Profile

    monkeypatch.setattr(deliveries, "enqueue", lambda ids: None)
    _, bob = daily
    Profile.objects.create(user=bob, time_zone="Europe/Berlin")
    email = ContactMethod.objects.create(user=bob, kind="email", address="bob@example.com")
    NotificationRule.objects.create(user=bob, urgency="low", contact_method=email)
    now = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
    handoff_notices_plan(now)

    sent = handoff_notices_send(now)
    again = handoff_notices_send(now + timedelta(seconds=1))

    assert sent == 1  # bob's start is due; alice's "ended" is due at 09:00
    assert again == 0
    delivery = Delivery.objects.get()
    assert delivery.user == bob
    assert delivery.channel == "email"
    # Shown in bob's own time zone: 09:00 UTC is 10:00 in Berlin.
    assert delivery.message["subject"] == "You are on call for Daily from Tue 03 Nov 10:00"
    assert HandoffNotice.objects.get(user=bob).status == HandoffNotice.Status.SENT
