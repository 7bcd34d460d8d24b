"""Incidents as people and programs see them: the list, the page, and the REST API."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models import ChangeEvent, Incident, Integration
from incidents.tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration() -> Integration:
    return make_integration(rate_limit_per_minute=10_000)


def trigger(client: Client, integration: Integration, **payload: Any) -> Incident:
    body = {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": payload.pop("dedup_key", "k"),
        "payload": {
            "summary": "Checkout errors",
            "source": "lb-1",
            "severity": "critical",
            **payload.pop("payload", {}),
        },
        **payload,
    }
    assert client.post("/v2/enqueue", body, content_type="application/json").status_code == 202
    return Incident.objects.latest("pk")


def test_the_incident_page_shows_links_images_details_and_what_changed(
    client: Client, integration: Integration, responder: User
) -> None:
    ChangeEvent.objects.create(
        service=integration.service,
        summary="Deployed checkout v2.3.1",
        timestamp=timezone.now() - timedelta(minutes=20),
    )
    ChangeEvent.objects.create(
        service=integration.service, summary="Ancient deploy", timestamp=timezone.now() - timedelta(hours=3)
    )
    incident = trigger(
        client,
        integration,
        payload={"custom_details": {"error_rate": "12%"}},
        links=[{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
        images=[{"src": "https://grafana.example/r.png", "alt": "Error rate"}],
    )
    client.force_login(responder)

    html = client.get(f"/incidents/{incident.pk}/").content.decode()

    assert "Checkout errors" in html
    assert '<a href="https://grafana.example/d/1" rel="noopener noreferrer nofollow">Dashboard</a>' in html
    assert "Image: Error rate" in html
    assert "&quot;error_rate&quot;: &quot;12%&quot;" in html
    assert "Deployed checkout v2.3.1" in html
    assert "Ancient deploy" not in html
    assert "No routing rule matched" in html


def test_alert_payloads_render_inert(client: Client, integration: Integration, responder: User) -> None:
    incident = trigger(
        client,
        integration,
        payload={"summary": "<script>alert(1)</script>", "custom_details": {"x": "<img src=x onerror=alert(2)>"}},
        links=[{"href": "javascript:alert(3)", "text": "<b>click</b>"}],
    )
    client.force_login(responder)

    html = client.get(f"/incidents/{incident.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    assert "<b>click</b>" not in html
    assert 'href="javascript:' not in html


def test_the_list_puts_open_incidents_first_and_filters(
    client: Client, integration: Integration, responder: User
) -> None:
    first = trigger(client, integration, dedup_key="a")
    Incident.objects.filter(pk=first.pk).update(status="resolved")
    second = trigger(client, integration, dedup_key="b")
    client.force_login(responder)

    html = client.get("/incidents/").content.decode()
    only_resolved = client.get("/incidents/?status=resolved").content.decode()

    assert html.index(f"#{second.number}<") < html.index(f"#{first.number}<")
    assert f"#{second.number}<" not in only_resolved
    assert f"#{first.number}<" in only_resolved


def test_api_lists_incidents_with_the_contract_fields(
    client: Client, integration: Integration, stakeholder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = trigger(client, integration)

    body = api_client_for(stakeholder).get("/api/v1/incidents/").json()

    item = body["results"][0]
    for field in (
        "id",
        "number",
        "title",
        "status",
        "severity",
        "service",
        "created_at",
        "acknowledged_at",
        "resolved_at",
        "url",
    ):
        assert field in item, field
    assert item["number"] == incident.number
    assert item["severity"] == "P1"
    assert item["status"] == "triggered"
    assert item["url"].endswith(f"/incidents/{incident.pk}/")
    assert item["url"].startswith("http")


def test_api_acknowledge_and_resolve_go_through_the_lifecycle(
    client: Client, integration: Integration, responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = trigger(client, integration)
    api = api_client_for(responder)

    acked = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/", {"message": "On it"})
    again = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")
    resolved = api.post(f"/api/v1/incidents/{incident.pk}/resolve/")
    reopen = api.post(f"/api/v1/incidents/{incident.pk}/acknowledge/")

    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert again.status_code == 409
    assert resolved.status_code == 200
    assert reopen.status_code == 409
    incident.refresh_from_db()
    assert incident.status == "resolved"
    entries = list(
        incident.timeline.filter(kind__in=["acknowledged", "resolved"]).values_list(
            "kind", "actor__username", "message"
        )
    )
    assert entries == [("acknowledged", "rui", "On it"), ("resolved", "rui", "Resolved by Rui Responder.")]


def test_stakeholders_cannot_acknowledge(
    client: Client, integration: Integration, stakeholder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    incident = trigger(client, integration)

    response = api_client_for(stakeholder).post(f"/api/v1/incidents/{incident.pk}/acknowledge/")

    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_integrations_carry_their_absolute_url_and_keys_rotate(
    plan_owner: User, api_client_for: Callable[[User], APIClient]
) -> None:
    api = api_client_for(plan_owner)
    service = make_integration().service
    created = api.post(
        "/api/v1/integrations/", {"name": "Prometheus", "service": service.pk, "kind": "alertmanager"}
    ).json()
    pagerduty = api.post("/api/v1/integrations/", {"name": "PD", "service": service.pk, "kind": "pagerduty"}).json()

    rotated = api.post(f"/api/v1/integrations/{created['id']}/rotate-key/").json()

    for field in ("id", "name", "service", "kind", "key", "url"):
        assert field in created
    assert created["url"] == f"http://127.0.0.1:8000/integrations/{created['key']}/alerts"
    assert pagerduty["url"] == "http://127.0.0.1:8000/v2/enqueue"
    assert rotated["key"] != created["key"]
    assert rotated["url"].endswith(f"/integrations/{rotated['key']}/alerts")
    old = APIClient().post(created["url"].replace("http://127.0.0.1:8000", ""), {}, format="json")
    assert old.status_code == 404


def test_bad_routing_rules_and_silences_are_refused_by_field(
    plan_owner: User, api_client_for: Callable[[User], APIClient]
) -> None:
    api = api_client_for(plan_owner)

    rule = api.post(
        "/api/v1/routing-rules/", {"name": "x", "conditions": [{"field": "labels.a", "op": "regex", "value": "("}]}
    )
    unknown = api.post(
        "/api/v1/routing-rules/", {"name": "x", "conditions": [{"field": "colour", "op": "equals", "value": "red"}]}
    )
    silence = api.post("/api/v1/silences/", {"comment": "x", "matchers": [], "ends_at": "2030-01-01T00:00:00Z"})
    backwards = api.post(
        "/api/v1/maintenance-windows/",
        {
            "title": "x",
            "services": [make_integration().service.pk],
            "starts_at": "2030-01-02T00:00:00Z",
            "ends_at": "2030-01-01T00:00:00Z",
        },
    )

    assert rule.status_code == 400
    assert "invalid regular expression" in rule.json()["conditions"][0]
    assert "Unknown field 'colour'" in unknown.json()["conditions"][0]
    assert silence.status_code == 400
    assert "matchers" in silence.json()
    assert backwards.status_code == 400
    assert "ends_at" in backwards.json()
