"""Runbooks: which apply to an incident, when they go stale, the links in pages, and their API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import Alert, Incident, Integration, Service, SeverityLevel
from incidents.models.runbooks import Runbook
from incidents.services.runbooks import runbook_matches, runbooks_for
from incidents.tests.factories import make_integration, make_person, make_service
from oncall import deliveries
from oncall.models import Delivery

pytestmark = pytest.mark.django_db


def open_incident(service: Service, *, severity: str = "P1", alerts: Sequence[dict[str, Any]] = ()) -> Incident:
    incident = Incident.objects.create(
        title="Checkout is down", severity=SeverityLevel.objects.get(name=severity), service=service
    )
    integration = Integration.objects.filter(service=service).first()
    for number, fields in enumerate(alerts):
        Alert.objects.create(
            incident=incident, service=service, integration=integration, key=f"alert-{number}", **fields
        )
    return incident


def runbook(title: str, *, services: Sequence[Service] = (), **fields: Any) -> Runbook:
    book = Runbook.objects.create(title=title, **fields)
    book.services.set(services)
    return book


@pytest.fixture
def checkout() -> Service:
    service = make_service("Checkout API")
    make_integration(service=service, name="Prometheus")
    return service


def test_runbooks_attached_to_the_incidents_service_apply(checkout: Service) -> None:
    mine = runbook("Checkout API: 5xx", services=[checkout])
    runbook("Search is slow", services=[make_service("Search")])
    runbook("Not attached to anything")

    assert runbooks_for(open_incident(checkout)) == [mine]


def test_runbooks_whose_conditions_match_an_alert_apply_first(checkout: Service) -> None:
    by_service = runbook("A checkout runbook", services=[checkout])
    disk = runbook(
        "Disk full",
        conditions=[{"field": "labels.alertname", "op": "equals", "value": "DiskFull"}],
    )
    runbook("Certificates", conditions=[{"field": "labels.alertname", "op": "equals", "value": "CertExpiring"}])
    both = runbook(
        "Disk full on Prometheus hosts",
        match=Runbook.Match.ALL,
        conditions=[
            {"field": "summary", "op": "regex", "value": "disk"},
            {"field": "integration", "op": "equals", "value": "Prometheus"},
        ],
    )
    incident = open_incident(
        checkout,
        alerts=[
            {"summary": "CPU high", "labels": {"alertname": "CPUHigh"}},
            {"summary": "disk 97% full on db-2", "labels": {"alertname": "DiskFull", "instance": "db-2"}},
        ],
    )

    matches = runbook_matches(incident)

    assert [m.runbook for m in matches] == [disk, both, by_service]
    assert [m.reason for m in matches] == ["alert", "alert", "service"]


def test_any_match_needs_only_one_condition(checkout: Service) -> None:
    either = runbook(
        "Either",
        match=Runbook.Match.ANY,
        conditions=[
            {"field": "labels.alertname", "op": "equals", "value": "Nope"},
            {"field": "severity", "op": "one_of", "value": ["critical", "error"]},
        ],
    )
    runbook(
        "Both",
        match=Runbook.Match.ALL,
        conditions=[
            {"field": "labels.alertname", "op": "equals", "value": "Nope"},
            {"field": "severity", "op": "one_of", "value": ["critical", "error"]},
        ],
    )

    assert runbooks_for(open_incident(checkout, alerts=[{"summary": "x", "severity": "critical"}])) == [either]


def test_an_incident_without_alerts_gets_only_its_services_runbooks(checkout: Service) -> None:
    runbook("Anything firing", conditions=[{"field": "summary", "op": "exists"}])

    assert runbooks_for(open_incident(checkout)) == []


def test_a_runbook_is_stale_after_180_days_without_review() -> None:
    today = date(2026, 11, 27)

    assert Runbook(title="x", last_reviewed_on=today - timedelta(days=180)).stale_on(today) is False
    assert Runbook(title="x", last_reviewed_on=today - timedelta(days=181)).stale_on(today) is True
    assert Runbook(title="x", last_reviewed_on=None).stale_on(today) is True
    assert Runbook(title="x", last_reviewed_on=timezone.localdate()).is_stale is False


def test_the_runbook_link_is_in_every_channel_of_a_page(checkout: Service) -> None:
    external = runbook("Checkout 5xx", services=[checkout], external_url="https://wiki.example/checkout-5xx")
    internal = runbook("Checkout rollback", services=[checkout], body="1. Roll back")
    incident = open_incident(checkout)
    person = make_person(
        "alice",
        methods={"email": "alice@example.com", "webhook": "http://127.0.0.1:9/hook", "slack": "http://127.0.0.1:9/s"},
    )

    pages, _ = deliveries.page_person(
        subject=f"incident:{incident.pk}",
        page_key="test",
        user=person,
        urgency="high",
        at=timezone.now(),
        context={"why": "on call"},
    )

    email = Delivery.objects.get(pk=next(d.pk for d in pages if d.channel == "email")).message
    hook = Delivery.objects.get(pk=next(d.pk for d in pages if d.channel == "webhook")).message["webhook"]
    internal_url = f"{incident.absolute_url}#runbook-{internal.pk}"
    assert "Checkout 5xx — https://wiki.example/checkout-5xx" in email["text"]
    assert f"Checkout rollback — {internal_url}" in email["text"]
    assert 'href="https://wiki.example/checkout-5xx"' in email["html"]
    assert hook["runbook_url"] == external.external_url
    assert hook["runbooks"] == [
        {"title": "Checkout 5xx", "url": external.external_url},
        {"title": "Checkout rollback", "url": internal_url},
    ]
    slack = Delivery.objects.get(pk=next(d.pk for d in pages if d.channel == "slack")).message["slack"]
    assert "https://wiki.example/checkout-5xx" in str(slack["blocks"])


def test_a_page_without_runbooks_says_nothing_of_them(checkout: Service) -> None:
    incident = open_incident(checkout)
    person = make_person("alice", methods={"webhook": "http://127.0.0.1:9/hook", "email": "alice@example.com"})

    pages, _ = deliveries.page_person(
        subject=f"incident:{incident.pk}", page_key="t", user=person, urgency="high", at=timezone.now(), context={}
    )

    by_channel = {page.channel: page.message for page in pages}
    assert by_channel["webhook"]["webhook"]["runbook_url"] is None
    assert "Runbook" not in by_channel["email"]["text"]
    assert "Runbook" not in by_channel["email"]["html"]


# --- REST ---------------------------------------------------------------------------------------------


@pytest.fixture
def owner_api(plan_owner: User, api_client_for: Callable[[User], APIClient]) -> APIClient:
    return api_client_for(plan_owner)


def test_plan_owners_write_runbooks_through_the_api(owner_api: APIClient, checkout: Service) -> None:
    answer = owner_api.post(
        "/api/v1/runbooks/",
        {
            "title": "Disk full",
            "body": "Run `df -h` <script>alert(1)</script>",
            "services": [checkout.pk],
            "conditions": [{"field": "labels.alertname", "op": "equals", "value": "DiskFull"}],
            "last_reviewed_on": "2026-01-05",
        },
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["services"] == [checkout.pk]
    assert "<script>" not in body["body_html"]
    assert "<code>df -h</code>" in body["body_html"]
    assert runbooks_for(open_incident(checkout))[0].title == "Disk full"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": "x", "conditions": [{"field": "nope", "op": "equals", "value": "a"}]}, "conditions"),
        ({"title": "x", "conditions": [{"field": "summary", "op": "regex", "value": "("}]}, "conditions"),
        ({"title": "x", "conditions": "labels.x=1"}, "conditions"),
        ({"title": "x", "conditions": [{"field": "summary", "op": "equals", "value": "\x00"}]}, "conditions"),
        ({"title": "x", "external_url": "javascript:alert(1)"}, "external_url"),
        ({"title": "x", "external_url": "ftp://files.example/runbook"}, "external_url"),
        ({"title": ""}, "title"),
        ({"title": "x", "services": [999999]}, "services"),
        ({"title": "x", "last_reviewed_on": "yesterday"}, "last_reviewed_on"),
        ({"title": "x", "match": "some"}, "match"),
    ],
)
def test_bad_runbooks_are_refused_naming_the_field(owner_api: APIClient, payload: dict[str, Any], field: str) -> None:
    answer = owner_api.post("/api/v1/runbooks/", payload, format="json")

    assert answer.status_code == 400
    assert field in answer.json()


def test_responders_read_runbooks_but_do_not_write_them(
    responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    runbook("Disk full")
    api = api_client_for(responder)

    assert api.get("/api/v1/runbooks/").json()["results"][0]["title"] == "Disk full"
    assert api.post("/api/v1/runbooks/", {"title": "Mine"}, format="json").status_code == 403


def test_the_admin_lists_runbooks_with_their_staleness(client: Client, plan_owner: User, checkout: Service) -> None:
    plan_owner.is_staff = True
    plan_owner.save()
    runbook("Old runbook", services=[checkout], last_reviewed_on=date(2020, 1, 1))
    client.force_login(plan_owner)

    page = client.get("/admin/incidents/runbook/")

    assert page.status_code == 200
    assert "Old runbook" in page.text
    assert "Checkout API" in page.text


def test_the_demo_has_a_runbook_per_service_and_a_p1_with_its_cadence(settings: Any) -> None:
    from django.core.management import call_command

    from incidents.services.comms import comms_due

    settings.DEBUG = True
    call_command("seed_demo")

    for service in Service.objects.all():
        assert runbooks_for(open_incident(service, severity="P4")), service.name
    p1 = Incident.objects.get(dedup_key="checkout-5xx")
    due = {item.kind: item for item in comms_due(p1)}
    assert set(due) == {"internal_update", "management_briefing", "status_page", "stakeholder_notice"}
    assert due["internal_update"].reminded.endswith("(Communications Lead)")
    assert not due["internal_update"].overdue
    disk = Incident.objects.get(service__name="Core Database", alerts__labels__alertname="DiskAlmostFull")
    assert [r.title for r in runbooks_for(disk)] == [
        "Disk almost full",
        "Core Database: failover to the replica",
    ]
