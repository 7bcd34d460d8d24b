"""Escalation policies, steps, contact methods and notification rules through the REST API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from incidents.tests.factories import make_service
from irp_site.groups import RESPONDERS
from irp_site.testing.receivers import HttpReceiver
from oncall import deliveries
from oncall.models import (
    ContactMethod,
    Delivery,
    EscalationPolicy,
    EscalationStep,
    Layer,
    NotificationRule,
    Schedule,
    Team,
)
from oncall.services import layer_save

pytestmark = pytest.mark.django_db

Api = Callable[[User], APIClient]
MONDAY_9 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def person(username: str, *, first_name: str = "", active: bool = True) -> User:
    user = User.objects.create_user(
        username, email=f"{username}@example.test", first_name=first_name or username.title(), is_active=active
    )
    user.groups.add(Group.objects.get(name=RESPONDERS))
    return user


def weekly_schedule(name: str, *members: User) -> Schedule:
    schedule = Schedule.objects.create(name=name, time_zone="UTC")
    layer = Layer(schedule=schedule, name="Weekly", shift_length=1, shift_unit="weeks", rotation_start=MONDAY_9)
    layer_save(layer, participants=list(members))
    return schedule


def policy_with_step(name: str = "Checkout", **targets: list[Any]) -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(name=name)
    step = EscalationStep.objects.create(policy=policy, delay=timedelta(minutes=5))
    for field, values in targets.items():
        getattr(step, field).set(values)
    return policy


def stored() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (EscalationPolicy, EscalationStep, ContactMethod, NotificationRule))


# Escalation policies and steps ------------------------------------------------------------------


def test_a_plan_owner_builds_a_policy_step_by_step(plan_owner: User, api: Api) -> None:
    alice, bob = person("alice"), person("bob")
    payments = Team.objects.create(name="Payments", manager=bob)
    payments.members.add(alice)
    schedule = weekly_schedule("Payments primary", alice)
    client = api(plan_owner)

    policy = client.post(
        "/api/v1/escalation-policies/",
        {"name": "Checkout", "description": "Who answers for checkout", "team": payments.pk, "repeat_count": 2},
    )
    first = client.post(
        "/api/v1/escalation-steps/",
        {"policy": policy.json()["id"], "position": 0, "delay_seconds": 300, "schedules": [schedule.pk]},
    )
    second = client.post(
        "/api/v1/escalation-steps/",
        {
            "policy": policy.json()["id"],
            "position": 1,
            "delay_seconds": None,
            "mode": "round_robin",
            "users": [alice.pk],
            "teams": [payments.pk],
            "team_managers": [payments.pk],
        },
    )
    read = client.get(f"/api/v1/escalation-policies/{policy.json()['id']}/")

    assert policy.status_code == 201, policy.content
    assert first.status_code == 201, first.content
    assert second.status_code == 201, second.content
    body = read.json()
    assert (body["name"], body["team"], body["repeat_count"]) == ("Checkout", payments.pk, 2)
    assert [step["id"] for step in body["steps"]] == [first.json()["id"], second.json()["id"]]
    assert body["steps"][0] == {
        "id": first.json()["id"],
        "policy": body["id"],
        "position": 0,
        "delay_seconds": 300,
        "mode": "all",
        "users": [],
        "schedules": [schedule.pk],
        "teams": [],
        "team_managers": [],
    }
    assert body["steps"][1]["delay_seconds"] is None
    assert body["steps"][1]["mode"] == "round_robin"
    step = EscalationStep.objects.get(pk=first.json()["id"])
    assert step.delay == timedelta(minutes=5)
    assert list(step.schedules.all()) == [schedule]


def test_steps_are_changed_and_deleted_and_a_policy_goes_with_its_steps(plan_owner: User, api: Api) -> None:
    alice = person("alice")
    policy = policy_with_step(users=[alice])
    step = policy.steps.get()
    client = api(plan_owner)

    changed = client.patch(f"/api/v1/escalation-steps/{step.pk}/", {"delay_seconds": 600, "users": []})
    renamed = client.put(
        f"/api/v1/escalation-policies/{policy.pk}/", {"name": "Checkout (EU)", "description": "", "repeat_count": 0}
    )
    deleted_step = client.delete(f"/api/v1/escalation-steps/{step.pk}/")
    other = policy_with_step("Search", users=[alice])
    deleted_policy = client.delete(f"/api/v1/escalation-policies/{other.pk}/")

    assert changed.status_code == 200, changed.content
    assert changed.json()["delay_seconds"] == 600
    assert changed.json()["users"] == []
    assert renamed.status_code == 200, renamed.content
    assert deleted_step.status_code == 204
    assert deleted_policy.status_code == 204
    assert list(EscalationPolicy.objects.values_list("name", flat=True)) == ["Checkout (EU)"]
    assert not EscalationStep.objects.exists()


def test_deleting_a_policy_a_service_uses_is_a_conflict(plan_owner: User, api: Api) -> None:
    policy = policy_with_step(users=[plan_owner])
    make_service("Checkout API", escalation_policy=policy)

    response = api(plan_owner).delete(f"/api/v1/escalation-policies/{policy.pk}/")

    assert response.status_code == 409
    assert "Checkout API" in response.json()["detail"]
    assert EscalationPolicy.objects.filter(pk=policy.pk).exists()


def test_the_lists_are_paginated_and_filtered(plan_owner: User, api: Api) -> None:
    alice = person("alice")
    checkout = policy_with_step("Checkout", users=[alice])
    policy_with_step("Search", users=[alice])
    client = api(plan_owner)

    policies = client.get("/api/v1/escalation-policies/", {"page_size": 1}).json()
    steps = client.get("/api/v1/escalation-steps/", {"policy": checkout.pk}).json()

    assert policies["count"] == 2
    assert [policy["name"] for policy in policies["results"]] == ["Checkout"]
    assert policies["next"]
    assert [step["policy"] for step in steps["results"]] == [checkout.pk]


def test_who_may_read_and_write_policies(
    plan_owner: User, responder: User, stakeholder: User, outsider: User, api: Api
) -> None:
    policy = policy_with_step(users=[responder])
    step = policy.steps.get()
    new_policy = {"name": "Rogue"}
    new_step = {"policy": policy.pk, "users": [responder.pk]}

    for reader in (plan_owner, responder, stakeholder):
        assert api(reader).get("/api/v1/escalation-policies/").status_code == 200
        assert api(reader).get(f"/api/v1/escalation-steps/{step.pk}/").status_code == 200
    for writer in (responder, stakeholder):
        client = api(writer)
        assert client.post("/api/v1/escalation-policies/", new_policy).status_code == 403
        assert client.patch(f"/api/v1/escalation-policies/{policy.pk}/", {"repeat_count": 3}).status_code == 403
        assert client.post("/api/v1/escalation-steps/", new_step).status_code == 403
        assert client.delete(f"/api/v1/escalation-steps/{step.pk}/").status_code == 403
    for path in ("/api/v1/escalation-policies/", "/api/v1/escalation-steps/", "/api/v1/contact-methods/"):
        assert api(outsider).get(path).status_code == 403, path
    assert list(EscalationPolicy.objects.values_list("name", "repeat_count")) == [("Checkout", 0)]
    assert EscalationStep.objects.count() == 1


# Contact methods and notification rules ------------------------------------------------------------


def test_a_responder_keeps_their_own_contact_methods_and_rules(responder: User, api: Api) -> None:
    client = api(responder)

    email = client.post("/api/v1/contact-methods/", {"kind": "email", "label": "Work", "address": "rui@example.test"})
    hook = client.post("/api/v1/contact-methods/", {"kind": "webhook", "address": "https://hooks.example.test/rui/x"})
    rule = client.post(
        "/api/v1/notification-rules/",
        {"urgency": "high", "contact_method": hook.json()["id"], "delay_seconds": 120},
    )
    immediate = client.post("/api/v1/notification-rules/", {"urgency": "low", "contact_method": email.json()["id"]})
    changed = client.patch(f"/api/v1/notification-rules/{rule.json()['id']}/", {"delay_seconds": 60})
    relabelled = client.patch(f"/api/v1/contact-methods/{email.json()['id']}/", {"label": "Personal"})
    removed = client.delete(f"/api/v1/notification-rules/{immediate.json()['id']}/")

    assert email.status_code == 201, email.content
    assert hook.status_code == 201, hook.content
    assert email.json()["user"] == responder.pk
    assert hook.json()["signing_secret"] == ContactMethod.objects.get(kind="webhook").signing_secret
    assert hook.json()["address"] == "https://hooks.example.test/rui/x"
    assert set(email.json()) >= {"last_outcome", "last_outcome_message", "last_outcome_at"}
    assert rule.status_code == 201, rule.content
    assert rule.json() == {
        "id": rule.json()["id"],
        "user": responder.pk,
        "urgency": "high",
        "contact_method": hook.json()["id"],
        "delay_seconds": 120,
    }
    assert immediate.json()["delay_seconds"] == 0
    assert changed.json()["delay_seconds"] == 60
    assert relabelled.json()["label"] == "Personal"
    assert removed.status_code == 204
    assert list(NotificationRule.objects.values_list("user", "urgency", "delay")) == [
        (responder.pk, "high", timedelta(minutes=1))
    ]


def test_outcome_fields_and_the_owner_are_not_written_by_a_put_that_leaves_them_out(responder: User, api: Api) -> None:
    method = ContactMethod.objects.create(user=responder, kind="email", address="rui@example.test")

    response = api(responder).put(
        f"/api/v1/contact-methods/{method.pk}/",
        {"kind": "email", "address": "rui@example.org", "last_outcome": "sent", "signing_secret": "mine"},
    )

    assert response.status_code == 200, response.content
    method.refresh_from_db()
    assert (method.user, method.address, method.last_outcome) == (responder, "rui@example.org", "")
    assert method.signing_secret != "mine"


def test_only_the_person_and_plan_owners_see_secrets(
    plan_owner: User, responder: User, stakeholder: User, api: Api
) -> None:
    hook = ContactMethod.objects.create(
        user=responder, kind="slack", address="https://hooks.slack.test/services/T000/B000/secret"
    )

    seen = {
        who.username: api(who).get(f"/api/v1/contact-methods/{hook.pk}/").json()
        for who in (responder, plan_owner, stakeholder, person("colleague"))
    }

    assert seen["rui"]["signing_secret"] == hook.signing_secret
    assert seen["olivia"]["signing_secret"] == hook.signing_secret
    assert seen["olivia"]["address"] == hook.address
    for other in ("stella", "colleague"):
        assert seen[other]["signing_secret"] is None
        assert seen[other]["address"] == "https://hooks.slack.test/…"


def test_a_responder_cannot_touch_someone_elses_settings(responder: User, api: Api) -> None:
    colleague = person("colleague")
    theirs = ContactMethod.objects.create(user=colleague, kind="email", address="colleague@example.test")
    their_rule = NotificationRule.objects.create(user=colleague, urgency="high", contact_method=theirs)
    mine = ContactMethod.objects.create(user=responder, kind="email", address="rui@example.test")
    my_rule = NotificationRule.objects.create(user=responder, urgency="high", contact_method=mine)
    client = api(responder)
    before = stored()

    answers = [
        client.post("/api/v1/contact-methods/", {"user": colleague.pk, "kind": "email", "address": "x@example.test"}),
        client.patch(f"/api/v1/contact-methods/{theirs.pk}/", {"address": "rui@example.test"}),
        client.delete(f"/api/v1/contact-methods/{theirs.pk}/"),
        client.post(f"/api/v1/contact-methods/{theirs.pk}/test/"),
        client.post(
            "/api/v1/notification-rules/", {"user": colleague.pk, "urgency": "low", "contact_method": theirs.pk}
        ),
        client.patch(f"/api/v1/notification-rules/{their_rule.pk}/", {"delay_seconds": 600}),
        client.delete(f"/api/v1/notification-rules/{their_rule.pk}/"),
        # Nor give their own rows away.
        client.patch(f"/api/v1/contact-methods/{mine.pk}/", {"user": colleague.pk}),
        client.patch(
            f"/api/v1/notification-rules/{my_rule.pk}/",
            {"user": colleague.pk, "urgency": "low", "contact_method": theirs.pk},
        ),
    ]

    assert [answer.status_code for answer in answers] == [403] * len(answers), [a.content for a in answers]
    assert stored() == before
    theirs.refresh_from_db()
    their_rule.refresh_from_db()
    assert theirs.address == "colleague@example.test"
    assert their_rule.delay == timedelta(0)
    assert ContactMethod.objects.get(pk=mine.pk).user == responder
    assert not Delivery.objects.exists()


def test_a_plan_owner_manages_anyones_settings(plan_owner: User, responder: User, api: Api) -> None:
    client = api(plan_owner)

    method = client.post(
        "/api/v1/contact-methods/", {"user": responder.pk, "kind": "sms", "address": "+44 20 7946 0000"}
    )
    rule = client.post(
        "/api/v1/notification-rules/", {"user": responder.pk, "urgency": "high", "contact_method": method.json()["id"]}
    )
    delayed = client.patch(f"/api/v1/notification-rules/{rule.json()['id']}/", {"delay_seconds": 300})
    deleted = client.delete(f"/api/v1/contact-methods/{method.json()['id']}/")

    assert method.status_code == 201, method.content
    assert method.json()["user"] == responder.pk
    assert rule.status_code == 201, rule.content
    assert delayed.status_code == 200
    assert deleted.status_code == 204
    assert not NotificationRule.objects.exists()  # the rule went with its method


def test_stakeholders_read_but_do_not_write_contact_settings(stakeholder: User, responder: User, api: Api) -> None:
    method = ContactMethod.objects.create(user=responder, kind="email", address="rui@example.test")
    client = api(stakeholder)

    listed = client.get("/api/v1/contact-methods/")
    rules = client.get("/api/v1/notification-rules/")
    own = client.post("/api/v1/contact-methods/", {"kind": "email", "address": "stella@example.test"})
    other = client.patch(f"/api/v1/contact-methods/{method.pk}/", {"label": "x"})

    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [method.pk]
    assert set(rules.json()) >= {"results", "next"}
    assert (own.status_code, other.status_code) == (403, 403)
    assert ContactMethod.objects.count() == 1


# Bad input ------------------------------------------------------------------------------------------

BAD = [
    ("/api/v1/escalation-policies/", lambda c: {"name": "Loop", "repeat_count": 10}, "repeat_count"),
    ("/api/v1/escalation-policies/", lambda c: {"name": "Loop", "repeat_count": -1}, "repeat_count"),
    ("/api/v1/escalation-policies/", lambda c: {"name": "Checkout"}, "name"),
    ("/api/v1/escalation-policies/", lambda c: {"name": "Orphan", "team": 999999}, "team"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "delay_seconds": 0}, "delay_seconds"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "delay_seconds": -60}, "delay_seconds"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "delay_seconds": "5 min"}, "delay_seconds"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "users": [999999]}, "users"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "users": [c["inactive"]]}, "users"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "schedules": [999999]}, "schedules"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "team_managers": ["x"]}, "team_managers"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": c["policy"], "mode": "random"}, "mode"),
    ("/api/v1/escalation-steps/", lambda c: {"policy": 999999}, "policy"),
    ("/api/v1/contact-methods/", lambda c: {"kind": "email", "address": "not an address"}, "address"),
    ("/api/v1/contact-methods/", lambda c: {"kind": "webhook", "address": "ftp://example.test/x"}, "address"),
    ("/api/v1/contact-methods/", lambda c: {"kind": "slack", "address": "hooks.slack.test/x"}, "address"),
    ("/api/v1/contact-methods/", lambda c: {"kind": "sms", "address": "call me maybe"}, "address"),
    ("/api/v1/contact-methods/", lambda c: {"kind": "voice", "address": "020 7946 0000"}, "address"),
    ("/api/v1/contact-methods/", lambda c: {"kind": "pigeon", "address": "loft 3"}, "kind"),
    ("/api/v1/contact-methods/", lambda c: {"kind": "email", "address": "olivia@example.test"}, "non_field_errors"),
    ("/api/v1/contact-methods/", lambda c: {"user": 999999, "kind": "email", "address": "x@example.test"}, "user"),
    (
        "/api/v1/notification-rules/",
        lambda c: {"urgency": "high", "contact_method": c["mine"], "delay_seconds": -1},
        "delay_seconds",
    ),
    (
        "/api/v1/notification-rules/",
        lambda c: {"urgency": "high", "contact_method": c["mine"], "delay_seconds": 86401},
        "delay_seconds",
    ),
    ("/api/v1/notification-rules/", lambda c: {"urgency": "high", "contact_method": c["theirs"]}, "contact_method"),
    ("/api/v1/notification-rules/", lambda c: {"urgency": "high", "contact_method": 999999}, "contact_method"),
    ("/api/v1/notification-rules/", lambda c: {"urgency": "urgent", "contact_method": c["mine"]}, "urgency"),
    ("/api/v1/notification-rules/", lambda c: {"urgency": "low", "contact_method": c["mine"]}, "non_field_errors"),
]


@pytest.mark.parametrize(("path", "build", "field"), BAD)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    plan_owner: User, api: Api, path: str, build: Callable[[dict[str, int]], dict[str, Any]], field: str
) -> None:
    colleague = person("colleague")
    policy = policy_with_step(users=[colleague])
    mine = ContactMethod.objects.create(user=plan_owner, kind="email", address="olivia@example.test")
    NotificationRule.objects.create(user=plan_owner, urgency="low", contact_method=mine)
    theirs = ContactMethod.objects.create(user=colleague, kind="email", address="colleague@example.test")
    inactive = person("gone", active=False)
    context = {"policy": policy.pk, "mine": mine.pk, "theirs": theirs.pk, "inactive": inactive.pk}
    before = stored()

    response = api(plan_owner).post(path, build(context), format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert stored() == before


def test_changing_a_method_to_an_address_its_kind_cannot_take_is_a_400(responder: User, api: Api) -> None:
    method = ContactMethod.objects.create(user=responder, kind="email", address="rui@example.test")

    response = api(responder).patch(f"/api/v1/contact-methods/{method.pk}/", {"kind": "webhook"})

    assert response.status_code == 400
    assert "address" in response.json()
    method.refresh_from_db()
    assert method.kind == "email"


# "Send a test" -------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as http:
        yield http


@pytest.fixture
def deliver_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a worker would do, in this process, as soon as the transaction commits."""
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: [deliveries.deliver(pk) for pk in ids])


@pytest.mark.usefixtures("deliver_inline")
def test_send_a_test_reaches_a_webhook_and_records_the_outcome(
    responder: User, api: Api, receiver: HttpReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    method = ContactMethod.objects.create(user=responder, kind="webhook", address=receiver.url("/hooks/rui"))

    with django_capture_on_commit_callbacks(execute=True):
        response = api(responder).post(f"/api/v1/contact-methods/{method.pk}/test/")

    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get()
    assert response.json() == {"delivery": delivery.pk, "status": "queued"}
    (received,) = receiver.wait_for(1, "/hooks/rui")
    assert received.json["event"] == "test"
    assert receiver.verify_signature(received, method.signing_secret)
    assert delivery.status == Delivery.Status.SENT
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == ["sent"]
    method.refresh_from_db()
    assert method.last_outcome == "sent"
    assert method.last_outcome_at is not None
    shown = api(responder).get(f"/api/v1/contact-methods/{method.pk}/").json()
    assert shown["last_outcome"] == "sent"


@pytest.mark.usefixtures("deliver_inline")
def test_a_failing_test_shows_why_on_the_method(
    plan_owner: User, responder: User, api: Api, receiver: HttpReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    method = ContactMethod.objects.create(user=responder, kind="slack", address=receiver.url("/slack/rui"))
    receiver.respond("/slack/rui", HttpReceiver.SLACK_NO_SERVICE)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(plan_owner).post(f"/api/v1/contact-methods/{method.pk}/test/")

    assert response.status_code == 202
    method.refresh_from_db()
    assert method.last_outcome == "permanent"
    assert "no_service" in method.last_outcome_message
    assert Delivery.objects.get().status == Delivery.Status.FAILED


def test_stakeholders_cannot_send_tests(stakeholder: User, responder: User, api: Api) -> None:
    method = ContactMethod.objects.create(user=responder, kind="email", address="rui@example.test")

    assert api(stakeholder).post(f"/api/v1/contact-methods/{method.pk}/test/").status_code == 403
    assert not Delivery.objects.exists()


# Who each step would notify, in /api/v1/oncall/ ------------------------------------------------------


def test_oncall_lists_whom_each_policy_step_would_notify(responder: User, api: Api) -> None:
    alice, bob = person("alice", first_name="Alice"), person("bob", first_name="Bob")
    carol, dave = person("carol", first_name="Carol"), person("dave", first_name="Dave")
    gone = person("gone", active=False)
    payments = Team.objects.create(name="Payments", manager=carol)
    payments.members.add(dave, bob, gone)
    schedule = weekly_schedule("Payments primary", alice, bob)
    policy = EscalationPolicy.objects.create(name="Checkout")
    first = EscalationStep.objects.create(policy=policy, position=0, delay=timedelta(minutes=5))
    first.schedules.set([schedule])
    second = EscalationStep.objects.create(policy=policy, position=1, mode="round_robin")
    second.users.set([bob])
    second.teams.set([payments])
    second.team_managers.set([payments])
    EscalationPolicy.objects.create(name="Empty")

    body = api(responder).get("/api/v1/oncall/", {"at": "2026-11-10T12:00:00Z"}).json()

    assert body["escalation_policies"] == [
        {
            "id": policy.pk,
            "name": "Checkout",
            "steps": [
                {
                    "number": 1,
                    "delay_seconds": 300,
                    "mode": "all",
                    "on_call": [{"user": bob.pk, "name": "Bob", "reason": "on call for Payments primary"}],
                },
                {
                    "number": 2,
                    "delay_seconds": None,
                    "mode": "round_robin",
                    "on_call": [
                        {"user": bob.pk, "name": "Bob", "reason": "named in the policy"},
                        {"user": dave.pk, "name": "Dave", "reason": "member of Payments"},
                        {"user": carol.pk, "name": "Carol", "reason": "manager of Payments"},
                    ],
                },
            ],
        },
        {"id": EscalationPolicy.objects.get(name="Empty").pk, "name": "Empty", "steps": []},
    ]
    week_before = api(responder).get("/api/v1/oncall/", {"at": "2026-11-03T12:00:00Z"}).json()
    assert week_before["escalation_policies"][0]["steps"][0]["on_call"][0]["user"] == alice.pk


@pytest.fixture
def api(api_client_for: Api) -> Api:
    return api_client_for
