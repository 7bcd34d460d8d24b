"""Who could be paged but has no working notification rule: the function and /api/v1/paging-warnings/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from oncall.models import ContactMethod, EscalationPolicy, EscalationStep, Layer, NotificationRule, Schedule, Team
from oncall.services import layer_save
from oncall.warnings import paging_warnings

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def person(name: str, *, rules: dict[str, str] | None = None, active: bool = True) -> User:
    """A person with rules {urgency: kind}, each on a contact method of that kind."""
    user = User.objects.create_user(name.lower(), first_name=name, is_active=active)
    addresses = {"email": f"{name.lower()}@example.test", "webhook": "https://hooks.example.test/x"}
    for urgency, kind in (rules or {}).items():
        method, _ = ContactMethod.objects.get_or_create(
            user=user, kind=kind, address=addresses.get(kind, "+44 20 7946 0000")
        )
        NotificationRule.objects.create(user=user, urgency=urgency, contact_method=method)
    return user


def rota(name: str, *members: User, ends_at: datetime | None = None) -> Schedule:
    schedule = Schedule.objects.create(name=name)
    layer = Layer(
        schedule=schedule, name="Weekly", shift_length=1, shift_unit="weeks", rotation_start=MONDAY_9, ends_at=ends_at
    )
    layer_save(layer, participants=list(members))
    return schedule


def policy(name: str, **targets: list[Any]) -> EscalationPolicy:
    created = EscalationPolicy.objects.create(name=name)
    step = EscalationStep.objects.create(policy=created)
    for field, values in targets.items():
        getattr(step, field).set(values)
    return created


def found(**scope: Any) -> set[tuple[str, str]]:
    return {(warning.name, warning.urgency) for warning in paging_warnings(**scope)}


def test_everyone_who_can_be_paged_needs_a_deliverable_rule_for_each_urgency() -> None:
    ready = person("Ready", rules={"high": "webhook", "low": "email"})
    high_only = person("Highonly", rules={"high": "email"})
    sms_only = person("Smsonly", rules={"high": "sms", "low": "sms"})
    nothing = person("Nothing")
    manager, member, named = person("Manager"), person("Member"), person("Named")
    person("Bystander")  # on no rota and in no step
    gone = person("Gone", active=False)
    payments = Team.objects.create(name="Payments", manager=manager)
    payments.members.add(member, gone)
    rota("Payments primary", ready, high_only, sms_only, nothing, gone)
    policy("Checkout", users=[named], teams=[payments], team_managers=[payments])

    assert found() == {
        ("Highonly", "low"),
        ("Smsonly", "high"),
        ("Smsonly", "low"),
        ("Nothing", "high"),
        ("Nothing", "low"),
        ("Manager", "high"),
        ("Manager", "low"),
        ("Member", "high"),
        ("Member", "low"),
        ("Named", "high"),
        ("Named", "low"),
    }


def test_the_message_says_what_happens_when_such_a_person_is_paged() -> None:
    high_only = person("Hana", rules={"high": "email"})
    sms_only = person("Sam", rules={"high": "sms", "low": "sms"})
    rota("Payments primary", high_only, sms_only)

    warnings = paging_warnings()

    assert [(warning.user_id, warning.name, warning.urgency) for warning in warnings] == [
        (high_only.pk, "Hana", "low"),
        (sms_only.pk, "Sam", "high"),
        (sms_only.pk, "Sam", "low"),
    ]
    assert "paged on all their contact methods at once" in warnings[0].message
    assert warnings[1].message == "Sam cannot be paged: they have no e-mail, Slack or webhook contact method."


def test_a_rotation_that_has_ended_pages_nobody() -> None:
    retired = person("Retired")
    rota("Old rota", retired, ends_at=timezone.now() - timedelta(days=1))
    current = person("Current")
    rota("New rota", current, ends_at=timezone.now() + timedelta(days=30))

    assert found() == {("Current", "high"), ("Current", "low")}


def test_warnings_narrow_to_a_schedule_or_to_the_people_a_policy_reaches() -> None:
    on_rota, elsewhere, named = person("Onrota"), person("Elsewhere"), person("Named")
    payments = rota("Payments primary", on_rota)
    rota("Search primary", elsewhere)
    checkout = policy("Checkout", users=[named], schedules=[payments])
    policy("Search", users=[elsewhere])

    assert {name for name, _ in found(schedule=payments)} == {"Onrota"}
    assert {name for name, _ in found(policy=checkout)} == {"Onrota", "Named"}
    assert {name for name, _ in found()} == {"Onrota", "Elsewhere", "Named"}


@pytest.mark.parametrize("people", [3, 40])
def test_the_query_count_does_not_grow_with_the_number_of_people(
    people: int,
    responder: User,
    api_client_for: Callable[[User], APIClient],
    django_assert_max_num_queries: Any,
) -> None:
    crowd = [person(f"P{index}", rules={"high": "email"} if index % 2 else None) for index in range(people)]
    team = Team.objects.create(name="Everyone", manager=crowd[0])
    team.members.set(crowd)
    rota("Big rota", *crowd)
    policy("Everyone", users=crowd, teams=[team], team_managers=[team])
    client = api_client_for(responder)

    with django_assert_max_num_queries(3):
        warnings = paging_warnings()
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/paging-warnings/", {"page_size": 500})

    assert len(warnings) == people + people // 2 + people % 2
    assert response.json()["count"] == len(warnings)


def test_the_endpoint_lists_warnings_for_every_irp_member_and_no_one_else(
    stakeholder: User, outsider: User, api_client_for: Callable[[User], APIClient]
) -> None:
    nothing = person("Nothing")
    rota("Payments primary", nothing)

    body = api_client_for(stakeholder).get("/api/v1/paging-warnings/").json()

    assert body["next"] is None
    assert [{key: item[key] for key in ("user", "name", "urgency")} for item in body["results"]] == [
        {"user": nothing.pk, "name": "Nothing", "urgency": "high"},
        {"user": nothing.pk, "name": "Nothing", "urgency": "low"},
    ]
    assert body["results"][0]["message"].startswith("Nothing cannot be paged")
    assert api_client_for(outsider).get("/api/v1/paging-warnings/").status_code == 403
