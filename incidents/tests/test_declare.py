"""Declaring an incident by hand (human detection): it pages per the service's policy exactly like
an incident opened by an alert, records when the problem began, and refuses bad input by field."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import EscalationRun, Incident, MaintenanceWindow, Service, SeverityLevel
from incidents.services.declaring import incident_declare
from incidents.services.errors import InvalidInput
from incidents.services.escalation import start_due
from incidents.tests.factories import make_integration, make_person, make_policy, make_service
from irp_site.testing.receivers import HttpReceiver
from oncall import deliveries
from oncall.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def deliver_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: [deliveries.deliver(pk) for pk in ids])


@pytest.fixture
def checkout(http: HttpReceiver) -> Service:
    """Checkout pages Alice first; a grace period that alert-opened incidents wait out."""
    alice = make_person("alice", methods={"webhook": http.url("/hooks/alice")})
    policy = make_policy("Checkout on-call", {"users": [alice]})
    return make_service(escalation_policy=policy, flap_grace_period=timedelta(minutes=2))


def p(name: str) -> SeverityLevel:
    return SeverityLevel.objects.get(name=name)


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("at", "pk").values_list("kind", flat=True))


def test_a_declared_incident_pages_like_an_alert_opened_one(
    checkout: Service,
    responder: User,
    api_client_for: Callable[[User], APIClient],
    http: HttpReceiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    began = timezone.now() - timedelta(minutes=20)

    response = api_client_for(responder).post(
        "/api/v1/incidents/",
        {
            "service": checkout.pk,
            "severity": "P1",
            "title": "Checkout returns 502 for card payments",
            "description": "Support has had twelve calls in ten minutes.",
            "started_at": began.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["severity"], body["declared_by"]) == ("triggered", "P1", responder.pk)
    assert body["description"] == "Support has had twelve calls in ten minutes."
    incident = Incident.objects.get(pk=body["id"])
    assert incident.started_at == began
    # Time to detect is measurable: detected when declared, started when the person said.
    assert incident.detected_at - incident.started_at >= timedelta(minutes=20)
    assert kinds(incident) == ["declared"]
    assert incident.timeline.get().message == "Declared by Rui Responder as P1 on Checkout API."
    # A person has seen the problem: no flap grace period.
    assert incident.pages_at is not None
    assert incident.pages_at <= timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        assert start_due(timezone.now()) == 1

    run = EscalationRun.objects.get(incident=incident)
    assert run.snapshot["name"] == "Checkout on-call"
    assert run.ack_window == p("P1").ack_window
    http.wait_for(1, "/hooks/alice")
    assert Delivery.objects.filter(subject=f"incident:{incident.pk}", user__username="alice").count() == 1
    assert "Step 1 of 1: notifying Alice" in incident.timeline.filter(kind="escalated").get().message


def test_an_alert_opened_incident_on_the_same_service_pages_the_same_way(
    checkout: Service, client: Client, http: HttpReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    """The comparison the declare test relies on: the same run and deliveries."""
    checkout.flap_grace_period = timedelta(0)
    checkout.save()
    integration = make_integration(service=checkout)
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": "checkout-502",
        "payload": {"summary": "Checkout 502s", "source": "lb-1", "severity": "critical"},
    }
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    incident = Incident.objects.get(dedup_key="checkout-502")
    # On PostgreSQL this incident was inserted by raw SQL (ingestion's fast path), which does not
    # name the workspace's columns: their database defaults fill them.
    assert (incident.description, incident.resolution_note, incident.root_cause_hypothesis) == ("", "", "")
    assert (incident.declared_by, incident.merged_into) == (None, None)
    with django_capture_on_commit_callbacks(execute=True):
        assert start_due(timezone.now()) == 1
    assert EscalationRun.objects.get(incident=incident).snapshot["name"] == "Checkout on-call"
    http.wait_for(1, "/hooks/alice")


def test_declaring_at_a_severity_that_pages_nobody_records_why(checkout: Service, responder: User) -> None:
    incident = incident_declare(
        service=checkout, severity=p("P4"), title="Typo on the pricing page", started_at=None, actor=responder
    )

    assert incident.pages_at is None
    assert incident.paging_suppressed_reason == "The plan says P4 (Low) pages nobody."
    assert kinds(incident) == ["declared", "paging_suppressed"]
    assert start_due(timezone.now() + timedelta(hours=1)) == 0
    assert not EscalationRun.objects.filter(incident=incident).exists()


def test_declaring_during_maintenance_pages_nobody(checkout: Service, responder: User) -> None:
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        title="Database upgrade", starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=1)
    )
    window.services.add(checkout)

    incident = incident_declare(
        service=checkout, severity=p("P2"), title="Slow checkout", started_at=None, actor=responder, now=now
    )

    assert incident.pages_at is None
    assert incident.paging_suppressed_reason.startswith("Checkout API is in maintenance window 'Database upgrade'")


def test_a_start_in_the_future_is_refused(checkout: Service, responder: User) -> None:
    with pytest.raises(InvalidInput) as error:
        incident_declare(
            service=checkout,
            severity=p("P2"),
            title="Slow checkout",
            started_at=timezone.now() + timedelta(minutes=5),
            actor=responder,
        )
    assert error.value.field == "started_at"
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"started_at": "2999-01-01T00:00:00Z"}, "started_at"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"severity": "P9"}, "severity"),
        ({"service": 999_999}, "service"),
        ({"service": "checkout"}, "service"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 1025}, "title"),
        ({"title": ["Slow checkout"]}, "title"),
        ({"title": "Slow\x00checkout"}, "title"),
        ({"description": "x" * 20_001}, "description"),
        ({"description": {"seen": "502s"}}, "description"),
        ({"service": [1]}, "service"),
        ({"service": 2**64}, "service"),
        ({"severity": ["P1"]}, "severity"),
        ({"severity": None}, "severity"),
        # PostgreSQL cannot look these up at all: still a 400, not a database error.
        ({"severity": "P\x00"}, "severity"),
        ({"severity": "P\ud800"}, "severity"),
        ({"started_at": 1_700_000_000}, "started_at"),
        ({"started_at": "0001-01-01T00:00:00+05:00"}, "started_at"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    change: dict[str, Any], field: str, checkout: Service, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    body = {"service": checkout.pk, "severity": "P2", "title": "Slow checkout", **change}

    # Encoded here: json.dumps escapes a lone surrogate, which the test client's encoder refuses.
    response = api_client_for(responder).post("/api/v1/incidents/", json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Incident.objects.exists()


def test_a_service_outside_the_plans_scope_is_refused(
    responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    service = make_service("Marketing site", in_scope=False)

    response = api_client_for(responder).post(
        "/api/v1/incidents/", {"service": service.pk, "severity": "P2", "title": "Banner is wrong"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"service": ["Marketing site is outside the plan's scope; the plan does not govern it."]}
    assert not Incident.objects.exists()


def test_stakeholders_and_outsiders_cannot_declare(
    checkout: Service, stakeholder: User, outsider: User, api_client_for: Callable[[User], APIClient]
) -> None:
    body = {"service": checkout.pk, "severity": "P2", "title": "Slow checkout"}
    for person in (stakeholder, outsider):
        assert api_client_for(person).post("/api/v1/incidents/", body, format="json").status_code == 403
    assert APIClient().post("/api/v1/incidents/", body, format="json").status_code == 401
    assert not Incident.objects.exists()


def test_declaring_on_a_service_without_an_escalation_policy_says_nobody_was_paged(
    responder: User, api_client_for: Callable[[User], APIClient], django_capture_on_commit_callbacks: Any
) -> None:
    service = make_service("Internal wiki")
    assert service.escalation_policy is None

    response = api_client_for(responder).post(
        "/api/v1/incidents/", {"service": service.pk, "severity": "P2", "title": "Wiki is down"}, format="json"
    )

    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert start_due(timezone.now()) == 1
    assert kinds(incident) == ["declared", "escalation_ended"]
    assert incident.timeline.get(kind="escalation_ended").message == (
        "Nobody was paged: the service has no escalation policy."
    )
    assert not Delivery.objects.exists()
