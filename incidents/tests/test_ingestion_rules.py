"""Triage on the way in: routing rules, maintenance windows, silences and the flap grace period."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import (
    Alert,
    EscalationRun,
    Incident,
    Integration,
    MaintenanceWindow,
    RoutingRule,
    SeverityLevel,
    Silence,
)
from incidents.services.escalation import escalation_tick
from incidents.tests.factories import make_integration, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration() -> Integration:
    return make_integration(rate_limit_per_minute=10_000)


def trigger(client: Client, integration: Integration, key: str = "k", **payload: Any) -> Any:
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "Disk almost full", "source": "db-1", "severity": "warning", **payload},
    }
    response = client.post("/v2/enqueue", body, content_type="application/json")
    assert response.status_code == 202, response.content
    return response


def resolve(client: Client, integration: Integration, key: str = "k") -> None:
    body = {"routing_key": integration.key, "event_action": "resolve", "dedup_key": key}
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202


def assert_recorded_but_pages_nobody(reason_part: str) -> Incident:
    incident = Incident.objects.get()
    assert Alert.objects.filter(incident=incident).count() == 1
    assert incident.pages_at is None
    assert reason_part in incident.paging_suppressed_reason
    assert incident.timeline.filter(kind="paging_suppressed", message__contains=reason_part).exists()
    return incident


def test_default_route_maps_the_alerts_severity_and_says_why(client: Client, integration: Integration) -> None:
    trigger(client, integration)

    incident = Incident.objects.get()
    assert incident.severity.name == "P3"
    assert incident.severity_reason == "No routing rule matched; the alert's own severity 'warning' maps to P3."
    assert incident.pages_at is not None


def test_the_first_matching_rule_sets_service_severity_and_labels(client: Client, integration: Integration) -> None:
    database = make_service("Core Database")
    RoutingRule.objects.create(
        name="Never matches", position=1, conditions=[{"field": "source", "op": "equals", "value": "nope"}]
    )
    RoutingRule.objects.create(
        name="Database disks",
        position=2,
        conditions=[
            {"field": "summary", "op": "regex", "value": "(?i)disk"},
            {"field": "source", "op": "one_of", "value": ["db-1", "db-2"]},
        ],
        set_service=database,
        set_severity=SeverityLevel.objects.get(name="P2"),
        add_labels={"team": "platform"},
    )
    RoutingRule.objects.create(name="Catch-all", position=3, set_severity=SeverityLevel.objects.get(name="P4"))

    trigger(client, integration)

    incident = Incident.objects.get()
    assert incident.service == database
    assert incident.severity.name == "P2"
    assert incident.routing_rule is not None
    assert incident.routing_rule.name == "Database disks"
    assert incident.severity_reason == (
        "Routing rule 'Database disks' matched (summary matches /(?i)disk/; source is one of 'db-1', 'db-2') "
        "and set severity P2."
    )
    assert Alert.objects.get().labels == {"team": "platform"}


def test_a_rule_for_another_integration_does_not_apply(client: Client, integration: Integration) -> None:
    other = make_integration(service=integration.service, name="Other")
    RoutingRule.objects.create(name="Other only", integration=other, set_severity=SeverityLevel.objects.get(name="P1"))

    trigger(client, integration)

    assert Incident.objects.get().severity.name == "P3"


def test_any_match_and_exists_conditions(client: Client, integration: Integration) -> None:
    RoutingRule.objects.create(
        name="Regional",
        match=RoutingRule.Match.ANY,
        conditions=[
            {"field": "details.region", "op": "exists"},
            {"field": "source", "op": "equals", "value": "nowhere"},
        ],
        set_severity=SeverityLevel.objects.get(name="P1"),
    )

    trigger(client, integration, custom_details={"region": "eu-west-1"})

    assert Incident.objects.get().severity.name == "P1"


def test_a_suppressing_rule_records_but_pages_nobody(client: Client, integration: Integration) -> None:
    RoutingRule.objects.create(name="Noise", conditions=[], suppress=True)

    trigger(client, integration)

    assert_recorded_but_pages_nobody("Routing rule 'Noise' records these alerts without paging.")


def test_maintenance_window_records_but_pages_nobody(client: Client, integration: Integration) -> None:
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        title="Database upgrade", starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)
    )
    window.services.add(integration.service)

    trigger(client, integration)

    assert_recorded_but_pages_nobody("maintenance window 'Database upgrade'")


def test_a_finished_or_other_services_maintenance_window_does_not_mute(
    client: Client, integration: Integration
) -> None:
    now = timezone.now()
    past = MaintenanceWindow.objects.create(
        title="Old", starts_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1)
    )
    past.services.add(integration.service)
    elsewhere = MaintenanceWindow.objects.create(title="Elsewhere", starts_at=now, ends_at=now + timedelta(hours=1))
    elsewhere.services.add(make_service("Another"))

    trigger(client, integration)

    assert Incident.objects.get().pages_at is not None


def test_a_matching_silence_records_but_pages_nobody(client: Client, integration: Integration) -> None:
    Silence.objects.create(
        comment="Known flaky disk check",
        matchers=[
            {"name": "source", "op": "=~", "value": "db-[0-9]+"},
            {"name": "severity", "op": "!=", "value": "critical"},
        ],
        ends_at=timezone.now() + timedelta(hours=1),
    )

    trigger(client, integration)

    assert_recorded_but_pages_nobody("Known flaky disk check")


def test_a_silence_that_does_not_match_or_has_ended_does_not_mute(client: Client, integration: Integration) -> None:
    now = timezone.now()
    Silence.objects.create(
        comment="Other host",
        matchers=[{"name": "source", "op": "=", "value": "web-9"}],
        ends_at=now + timedelta(hours=1),
    )
    Silence.objects.create(
        comment="Expired",
        matchers=[{"name": "source", "op": "=", "value": "db-1"}],
        starts_at=now - timedelta(hours=2),
        ends_at=now - timedelta(hours=1),
    )

    trigger(client, integration)

    assert Incident.objects.get().pages_at is not None


def test_a_severity_the_plan_does_not_page_for_pages_nobody(client: Client, integration: Integration) -> None:
    trigger(client, integration, severity="info")

    assert_recorded_but_pages_nobody("P4 (Low) pages nobody")


def test_a_blip_that_resolves_within_the_grace_period_never_pages(client: Client, integration: Integration) -> None:
    integration.service.flap_grace_period = timedelta(minutes=2)
    integration.service.save()

    trigger(client, integration)
    incident = Incident.objects.get()
    assert incident.pages_at == incident.detected_at + timedelta(minutes=2)
    resolve(client, integration)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_at is not None
    assert incident.pages_at is None
    assert "nobody was paged" in incident.timeline.get(kind="resolved").message
    # When the grace period would have ended, the engine finds nothing to page.
    escalation_tick(incident.detected_at + timedelta(minutes=3))
    assert not EscalationRun.objects.exists()


def test_without_a_grace_period_paging_is_due_at_once(client: Client, integration: Integration) -> None:
    trigger(client, integration)

    incident = Incident.objects.get()
    assert incident.pages_at == incident.detected_at
