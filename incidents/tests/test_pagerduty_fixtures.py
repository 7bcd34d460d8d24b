"""PagerDuty Events v2 fixtures in the shapes its clients send, and PagerDuty's own Python client."""

import json
from pathlib import Path
from typing import Any

import pagerduty
import pytest
from django.test import Client

from incidents.models import Alert, ChangeEvent, Incident, Integration
from incidents.tests.factories import make_integration

FIXTURES = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "pagerduty"


def load(name: str, integration: Integration) -> dict[str, Any]:
    body = json.loads((FIXTURES / name).read_text())
    body["routing_key"] = integration.key
    return body


@pytest.fixture
def integration(db: None) -> Integration:
    return make_integration(rate_limit_per_minute=10_000)


def post(client: Client, body: dict[str, Any], path: str = "/v2/enqueue") -> Any:
    return client.post(path, body, content_type="application/json")


def test_minimal_trigger(client: Client, integration: Integration) -> None:
    response = post(client, load("trigger-minimal.json", integration))

    assert response.status_code == 202
    alert = Alert.objects.get()
    assert alert.key == response.json()["dedup_key"]
    assert alert.summary == "Root volume 97% full on worker-7.acme.example"
    assert alert.incident.severity.name == "P1"


def test_full_trigger_then_acknowledge_then_resolve(client: Client, integration: Integration) -> None:
    assert post(client, load("trigger-full.json", integration)).json()["dedup_key"] == "checkout/latency"
    incident = Incident.objects.get()
    alert = Alert.objects.get()
    assert incident.severity.name == "P3"
    assert incident.started_at is not None
    assert incident.started_at.isoformat() == "2026-11-27T01:44:12.211000+00:00"
    assert (alert.component, alert.group, alert.alert_class) == ("checkout-api", "payments", "latency")
    assert alert.details == {"p99": "2.4s", "rps": 812.5, "pods ready": "7/9"}
    assert alert.images[0]["alt"] == "p99 latency"
    assert alert.links == [{"href": "https://grafana.acme.example/d/checkout", "text": "Checkout dashboard"}]

    assert post(client, load("acknowledge.json", integration)).status_code == 202
    incident.refresh_from_db()
    assert incident.status == "acknowledged"

    assert post(client, load("trigger-string-details.json", integration)).status_code == 202
    incident.refresh_from_db()
    assert incident.status == "acknowledged"
    assert incident.alert_count == 2

    assert post(client, load("resolve.json", integration)).status_code == 202
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_string_custom_details_and_unknown_fields_are_accepted(client: Client, integration: Integration) -> None:
    assert post(client, load("trigger-string-details.json", integration)).status_code == 202

    assert Alert.objects.get().details == {"details": "free text instead of an object"}


def test_change_event(client: Client, integration: Integration) -> None:
    response = post(client, load("change-event.json", integration), "/v2/change/enqueue")

    assert response.status_code == 202
    change = ChangeEvent.objects.get()
    assert change.summary.startswith("Deployed checkout-api v2.3.1")
    assert change.links[0]["text"] == "Pipeline 1843"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_data")
def test_pagerdutys_own_python_client_works_against_irp(live_server: Any) -> None:
    class LocalEventsClient(pagerduty.EventsApiV2Client):
        # The client only accepts https:// base URLs; the test server speaks plain HTTP.
        @property
        def url(self) -> str:
            return str(live_server.url)

        @url.setter
        def url(self, value: str) -> None:
            pass

    integration = make_integration(rate_limit_per_minute=10_000)
    events = LocalEventsClient(integration.key)

    key = events.trigger(
        "Queue depth above 10,000", "orders-worker-3", severity="error", custom_details={"depth": 10342}
    )
    events.acknowledge(key)
    events.submit("Scaled orders workers to 12", source="autoscaler", timestamp="2026-11-27T03:00:00Z")
    events.resolve(key)
    with pytest.raises(pagerduty.Error):
        LocalEventsClient("0" * 32).trigger("unknown key", "test")
    # Close the keep-alive connection now, so the server thread is done before the test tears down.
    events.close()

    incident = Incident.objects.get()
    assert incident.dedup_key == key
    assert incident.status == "resolved"
    assert incident.acknowledged_at is not None
    assert Alert.objects.get().details == {"depth": 10342}
    assert ChangeEvent.objects.get().summary == "Scaled orders workers to 12"
