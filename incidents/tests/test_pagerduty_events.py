"""PagerDuty Events API v2 at /v2/enqueue, with PagerDuty's semantics."""

from typing import Any

import pytest
from django.test import Client

from incidents.models import Alert, ChangeEvent, Incident, Integration, TimelineEntry
from incidents.tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration() -> Integration:
    return make_integration(rate_limit_per_minute=10_000)


def send(client: Client, body: dict[str, Any], path: str = "/v2/enqueue") -> Any:
    return client.post(path, body, content_type="application/json")


def trigger(integration: Integration, **extra: Any) -> dict[str, Any]:
    payload = {"summary": "Checkout p99 above 2 s", "source": "prometheus-1", "severity": "critical"}
    payload.update(extra.pop("payload", {}))
    return {"routing_key": integration.key, "event_action": "trigger", "payload": payload, **extra}


def test_a_trigger_opens_an_incident_and_answers_as_pagerduty_does(client: Client, integration: Integration) -> None:
    response = send(client, trigger(integration, dedup_key="checkout-latency"))

    assert response.status_code == 202
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": "checkout-latency"}
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.title == "Checkout p99 above 2 s"
    assert incident.severity.name == "P1"
    assert incident.service == integration.service
    assert incident.alert_count == 1
    assert incident.pages_at == incident.detected_at
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds == ["triggered", "severity_set", "alert_received"]


def test_a_trigger_without_dedup_key_gets_one_generated_and_returned(client: Client, integration: Integration) -> None:
    response = send(client, trigger(integration))

    key = response.json()["dedup_key"]
    assert len(key) == 32
    assert Alert.objects.get().key == key


def test_repeats_are_counted_not_paged_and_acknowledge_stops_nothing_else(
    client: Client, integration: Integration
) -> None:
    for _ in range(3):
        send(client, trigger(integration, dedup_key="k"))
    send(client, {"routing_key": integration.key, "event_action": "acknowledge", "dedup_key": "k"})
    send(client, trigger(integration, dedup_key="k"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.alert_count == 4
    assert Alert.objects.get().occurrences == 4
    assert incident.timeline.filter(kind=TimelineEntry.Kind.ACKNOWLEDGED).count() == 1
    assert incident.timeline.filter(kind=TimelineEntry.Kind.RETRIGGERED).count() == 0


def test_after_resolve_a_new_trigger_opens_a_new_incident(client: Client, integration: Integration) -> None:
    send(client, trigger(integration, dedup_key="k"))
    response = send(client, {"routing_key": integration.key, "event_action": "resolve", "dedup_key": "k"})
    send(client, trigger(integration, dedup_key="k"))

    assert response.status_code == 202
    first, second = Incident.objects.order_by("pk")
    assert first.status == Incident.Status.RESOLVED
    assert first.resolved_at is not None
    assert second.status == Incident.Status.TRIGGERED


def test_acknowledge_and_resolve_only_act_on_their_own_routing_key(client: Client, integration: Integration) -> None:
    other = make_integration(service=integration.service, name="Other")
    send(client, trigger(integration, dedup_key="k"))

    send(client, {"routing_key": other.key, "event_action": "resolve", "dedup_key": "k"})
    send(client, {"routing_key": other.key, "event_action": "acknowledge", "dedup_key": "k"})

    assert Incident.objects.get().status == Incident.Status.TRIGGERED


def test_links_images_and_custom_details_are_kept(client: Client, integration: Integration) -> None:
    body = trigger(
        integration,
        payload={"custom_details": {"p99_ms": 2400, "region": "eu-west-1"}, "component": "api", "group": "web"},
        links=[{"href": "https://grafana.example/d/1", "text": "Dashboard"}],
        images=[{"src": "https://grafana.example/render/1.png", "href": "https://grafana.example", "alt": "p99"}],
    )
    send(client, body)

    alert = Alert.objects.get()
    assert alert.details == {"p99_ms": 2400, "region": "eu-west-1"}
    assert alert.links == [{"href": "https://grafana.example/d/1", "text": "Dashboard"}]
    assert alert.images[0]["src"] == "https://grafana.example/render/1.png"
    assert (alert.component, alert.group) == ("api", "web")


def test_change_events_are_recorded_on_the_service(client: Client, integration: Integration) -> None:
    body = {
        "routing_key": integration.key,
        "payload": {"summary": "Deployed checkout v2.3.1", "timestamp": "2026-11-27T02:00:00Z", "source": "ci"},
        "links": [{"href": "https://ci.example/builds/42", "text": "Build"}],
    }

    response = send(client, body, "/v2/change/enqueue")

    assert response.status_code == 202
    change = ChangeEvent.objects.get()
    assert change.service == integration.service
    assert change.summary == "Deployed checkout v2.3.1"
    assert change.timestamp.isoformat() == "2026-11-27T02:00:00+00:00"
