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
