"""The guide's escalation paths, end to end in real time with short windows: alerts posted over
HTTP, the engine ticking, deliveries sent to a real SMTP server and local HTTP receivers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.models import EscalationRun, Incident, Integration, SeverityLevel
from incidents.tests.factories import (
    make_integration,
    make_person,
    make_policy,
    make_service,
    make_team,
    trigger_over_http,
)
from irp_site import engine
from irp_site.testing.receivers import Answer, HttpReceiver, SmtpReceiver
from oncall import deliveries
from oncall.models import ContactMethod, Delivery, Layer, NotificationRule, Schedule
from oncall.services import layer_save

pytestmark = pytest.mark.usefixtures("migrated_data")


@pytest.fixture(autouse=True)
def deliver_inline(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """Deliveries run in the process that enqueues them, after its transaction commits: the same
    code a worker runs, without a worker."""
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: [deliveries.deliver(pk) for pk in ids])
    settings.DELIVERY_RETRY_BASE_SECONDS = 0.2


def run_engine_until(condition: Callable[[], object], *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        engine.tick()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the condition was not met in time")


def run_engine_for(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        engine.tick()
        time.sleep(0.05)


def trigger(
    client: Client, integration: Integration, key: str = "checkout-down", severity: str = "critical"
) -> Incident:
    return trigger_over_http(client, integration, key, severity=severity)


@pytest.fixture
def p1_path(smtp: SmtpReceiver, http: HttpReceiver) -> dict[str, Any]:
    """The guide's P1 path: the on-call primary, then the secondary, then the engineering manager.

    Each reached by a different channel, so the receivers tell who was paged.
    """
    SeverityLevel.objects.filter(name="P1").update(ack_window=timedelta(seconds=2))
    SeverityLevel.objects.filter(name="P3").update(ack_window=timedelta(seconds=2))
    alice = make_person("alice", methods={"email": "alice@example.com"})
    bob = make_person("bob", methods={"slack": http.url("/slack/bob")})
    carol = make_person("carol", methods={"webhook": http.url("/hooks/carol")})
    team = make_team("Payments", manager=carol)
    primary = Schedule.objects.create(name="Payments primary", time_zone="UTC")
    layer_save(
        Layer(
            schedule=primary,
            name="Weekly",
            shift_length=1,
            shift_unit="weeks",
            rotation_start=timezone.now() - timedelta(days=1),
        ),
        participants=[alice],
    )
    policy = make_policy("Payments", {"schedules": [primary]}, {"users": [bob]}, {"team_managers": [team]})
    service = make_service("Checkout API", team=team, escalation_policy=policy)
    integration = make_integration(service=service, rate_limit_per_minute=10_000)
    return {"alice": alice, "bob": bob, "carol": carol, "integration": integration}


def test_unacknowledged_p1_goes_primary_then_secondary_then_manager(
    client: Client, p1_path: dict[str, Any], smtp: SmtpReceiver, http: HttpReceiver
) -> None:
    incident = trigger(client, p1_path["integration"])

    run_engine_until(lambda: EscalationRun.objects.filter(end_reason=EscalationRun.End.EXHAUSTED).exists())

    mail = smtp.wait_for(1)[0]
    slack = http.received("/slack/bob")
    hook = http.received("/hooks/carol")
    assert len(smtp.received()) == 1
    assert len(slack) == 1
    assert len(hook) == 1
    assert f"[P1] #{incident.number} Checkout is down" in mail.message["subject"]
    # Two-second windows, counted from when each step was due (not from when a tick got to it):
    # step k fires at the run's start + 2k s, never before, and within a second after. Each page
    # arrives after its own step fired and before the next one (receipt times vary with the load).
    fired = [entry.at.timestamp() for entry in incident.timeline.filter(kind="escalated").order_by("at")]
    started = EscalationRun.objects.get(incident=incident).started_at.timestamp()
    for step, at in enumerate(fired):
        assert started + 2 * step <= at <= started + 2 * step + 1.0, (step, at - started)
    assert fired[0] <= mail.at < fired[1] <= slack[0].at < fired[2] <= hook[0].at
    assert http.verify_signature(hook[0], ContactMethod.objects.get(user=p1_path["carol"]).signing_secret)
    assert hook[0].json["event"] == "incident.notify"
    assert hook[0].json["incident"]["number"] == incident.number
    assert hook[0].json["incident"]["severity"] == "P1"
    assert hook[0].json["ack_url"].startswith("http")
    messages = list(incident.timeline.filter(kind="escalated").values_list("message", flat=True))
    assert [m.split(":")[0] for m in messages] == ["Step 1 of 3", "Step 2 of 3", "Step 3 of 3"]
    assert "on call for Payments primary" in messages[0]
    assert "manager of Payments" in messages[2]
    notified = list(incident.timeline.filter(kind="notified").values_list("data__channel", "data__outcome"))
    assert notified == [("email", "sent"), ("slack", "sent"), ("webhook", "sent")]
    assert incident.timeline.filter(kind="escalation_ended").count() == 1


def test_an_ack_through_the_slack_button_stops_everything_after_it(
    client: Client, p1_path: dict[str, Any], smtp: SmtpReceiver, http: HttpReceiver
) -> None:
    incident = trigger(client, p1_path["integration"])
    run_engine_until(lambda: http.received("/slack/bob"))
    ack_url = http.received("/slack/bob")[0].json["blocks"][1]["elements"][0]["url"]
    path = ack_url.removeprefix("http://127.0.0.1:8000")

    # A link-preview bot fetches it first: nothing happens.
    assert client.get(path).status_code == 200
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED

    response = Client().post(path)  # the person, not logged in, confirms
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.timeline.filter(kind="acknowledged", actor=p1_path["bob"], message__contains="Slack").exists()

    run_engine_for(3.5)
    assert http.received("/hooks/carol") == []
    assert len(smtp.received()) == 1
    assert not EscalationRun.objects.filter(next_action_at__isnull=False).exists()
    # Used once: the second use says so plainly and changes nothing.
    again = Client().post(path)
    assert again.status_code == 409
    assert "already used" in again.content.decode()


def test_a_p3_never_reaches_the_manager(
    client: Client, p1_path: dict[str, Any], smtp: SmtpReceiver, http: HttpReceiver
) -> None:
    incident = trigger(client, p1_path["integration"], key="minor", severity="warning")
    assert incident.severity.name == "P3"

    run_engine_until(lambda: EscalationRun.objects.filter(end_reason=EscalationRun.End.EXHAUSTED).exists())

    assert len(smtp.received()) == 1
    assert len(http.received("/slack/bob")) == 1
    assert http.received("/hooks/carol") == []
    assert incident.timeline.filter(kind="escalated").count() == 2


def test_personal_rules_fire_in_their_order_at_their_delays(
    client: Client, smtp: SmtpReceiver, http: HttpReceiver
) -> None:
    dave = User.objects.create_user("dave", first_name="Dave")
    email = ContactMethod.objects.create(user=dave, kind="email", address="dave@example.com")
    slack = ContactMethod.objects.create(user=dave, kind="slack", address=http.url("/slack/dave"))
    hook = ContactMethod.objects.create(user=dave, kind="webhook", address=http.url("/hooks/dave"))
    for method, seconds in ((hook, 2), (email, 0), (slack, 1)):
        NotificationRule.objects.create(
            user=dave, urgency="high", contact_method=method, delay=timedelta(seconds=seconds)
        )
    service = make_service(escalation_policy=make_policy("Dave only", {"users": [dave]}))
    incident = trigger(client, make_integration(service=service, rate_limit_per_minute=10_000))

    run_engine_until(lambda: http.received("/hooks/dave"))

    mail_at = smtp.wait_for(1)[0].at
    slack_at = http.received("/slack/dave")[0].at
    hook_at = http.received("/hooks/dave")[0].at
    assert mail_at < slack_at < hook_at
    due = {d.channel: d.due_at.timestamp() for d in Delivery.objects.filter(subject=f"incident:{incident.pk}")}
    assert due["slack"] - due["email"] == 1
    assert due["webhook"] - due["email"] == 2
    # Never before its delay; soon after it (the engine looks four times a second).
    for channel, arrived in (("email", mail_at), ("slack", slack_at), ("webhook", hook_at)):
        assert due[channel] <= arrived <= due[channel] + 1.0, channel
    assert Delivery.objects.filter(subject=f"incident:{incident.pk}", status="sent").count() == 3


def test_a_webhook_failing_three_times_then_answering_is_one_delivery_with_four_attempts(
    client: Client, http: HttpReceiver
) -> None:
    erin = make_person("erin", methods={"webhook": http.url("/hooks/erin")})
    http.respond("/hooks/erin", Answer(500), Answer(500), Answer(500), Answer(200))
    service = make_service(escalation_policy=make_policy("Erin", {"users": [erin]}))
    incident = trigger(client, make_integration(service=service, rate_limit_per_minute=10_000))

    run_engine_until(lambda: Delivery.objects.filter(status="sent").exists())

    delivery = Delivery.objects.get()
    assert delivery.attempts == 4
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == ["transient"] * 3 + ["sent"]
    received = http.received("/hooks/erin")
    assert len(received) == 4
    # The same idempotency key on every attempt, so the receiver can tell they are one notification.
    assert {r.headers["x-irp-delivery"] for r in received} == {delivery.key}
    assert incident.timeline.filter(kind="notified").count() == 4


def test_a_410_fails_permanently_and_the_next_contact_method_is_used(
    client: Client, http: HttpReceiver, smtp: SmtpReceiver
) -> None:
    frank = User.objects.create_user("frank", first_name="Frank")
    hook = ContactMethod.objects.create(user=frank, kind="slack", address=http.url("/slack/frank"))
    email = ContactMethod.objects.create(user=frank, kind="email", address="frank@example.com")
    NotificationRule.objects.create(user=frank, urgency="high", contact_method=hook)
    NotificationRule.objects.create(user=frank, urgency="high", contact_method=email, delay=timedelta(minutes=5))
    http.respond("/slack/frank", HttpReceiver.SLACK_CHANNEL_ARCHIVED)
    service = make_service(escalation_policy=make_policy("Frank", {"users": [frank]}))
    incident = trigger(client, make_integration(service=service, rate_limit_per_minute=10_000))

    run_engine_until(lambda: smtp.received())

    failed = Delivery.objects.get(channel="slack")
    assert failed.status == "failed"
    assert failed.attempts == 1
    assert "410" in failed.last_error
    # The e-mail rule said "after 5 minutes"; the failure brought it forward.
    assert Delivery.objects.get(channel="email").status == "sent"
    assert len(http.received("/slack/frank")) == 1
    assert ContactMethod.objects.get(pk=hook.pk).last_outcome == "permanent"
    assert incident.timeline.filter(kind="notified", message__contains="channel_is_archived").exists()
