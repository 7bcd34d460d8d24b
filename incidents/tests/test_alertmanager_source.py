"""Prometheus Alertmanager webhook (version 4): real-shaped payloads posted to the integration's URL."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from incidents.models import Alert, Incident, Integration, TimelineEntry
from incidents.tests.factories import (
    alert_states,
    load_fixture,
    make_integration,
    post,
    stored_rows,
    timeline_kinds,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "alertmanager"
CHECKOUT_GROUP = '{}/{team="payments"}:{alertname="CheckoutHighLatency"}'
CRASHLOOP_GROUP = '{}/{severity=~"warning|critical"}:{alertname="KubePodCrashLooping", namespace="checkout"}'
# The three crash-looping pods of group-*.json, in payload order.
POD_A, POD_B, POD_C = "0b5e3c1d7a9f2e46", "3c7a0f9e2b6d1a58", "a41f6d8c0e3b7295"
# The two targets truncated*.json list, and the alert standing for those max_alerts cut.
TARGET_21, TARGET_22, CUT = "1d0c9b8a7f6e5d4c", "2e1d0c9b8a7f6e5d", "truncated-alerts"
UNSEEN = "More alerts in this group than Alertmanager sent (its max alerts setting); they resolve with the group."


def payload(name: str) -> dict[str, Any]:
    return load_fixture("alertmanager", name)


@pytest.fixture
def integration() -> Integration:
    return make_integration(Integration.Kind.ALERTMANAGER, name="Prometheus", rate_limit_per_minute=10_000)


# Each fixture posted on its own, to a fresh integration: what a first delivery of it leaves behind.
# Resolved alerts that IRP never saw firing have nothing to resolve, so they leave nothing.
STANDALONE = [
    ("firing", 1, "Checkout p99 latency above 2s", "P1", {"5f1e7b2c9a0d3e84": "firing"}),
    ("resolved", 0, None, None, {}),
    ("group-firing", 1, "Pod is crash looping.", "P3", {POD_A: "firing", POD_B: "firing", POD_C: "firing"}),
    ("group-some-resolved", 1, "Pod is crash looping.", "P3", {POD_B: "firing"}),
    ("group-all-resolved", 0, None, None, {}),
    ("unknown-fields", 1, "Filesystem has less than 5% space left.", "P2", {"e2d94b7f01c3a86d": "firing"}),
    (
        "truncated",
        1,
        "Scrape target 10.0.4.21:8080 is down.",
        "P1",
        {TARGET_21: "firing", TARGET_22: "firing", CUT: "firing"},
    ),
    # Both listed targets are over but the group still fires: only the unseen ones are known to be firing.
    ("truncated-listed-resolved", 1, UNSEEN, "P1", {CUT: "firing"}),
    ("truncated-group-resolved", 0, None, None, {}),
    ("legacy-without-fingerprint", 1, "Redis instance redis-cache-01:9121 is down.", "P2", None),
]


def test_every_fixture_file_has_an_expected_outcome() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.json")) == sorted(name for name, *_ in STANDALONE)


@pytest.mark.parametrize(("name", "incidents", "title", "severity", "alerts"), STANDALONE)
def test_each_fixture_produces_the_expected_incident_and_alerts(
    client: Client,
    integration: Integration,
    name: str,
    incidents: int,
    title: str | None,
    severity: str | None,
    alerts: dict[str, str] | None,
) -> None:
    body = payload(name)

    response = post(client, integration, body)

    assert response.status_code == 200
    assert Incident.objects.count() == incidents
    if not incidents:
        assert stored_rows() == (0, 0, 0)
        assert response.json()["incidents"] == []
        return
    incident = Incident.objects.get()
    assert response.json()["incidents"] == [incident.pk]
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.title == title
    assert incident.severity.name == severity
    assert incident.dedup_key == body["groupKey"]
    assert incident.service == integration.service
    if alerts is None:  # no fingerprint sent: one alert, keyed by its label set
        assert [key[:7] for key in alert_states(incident)] == ["labels:"]
    else:
        assert alert_states(incident) == alerts
    assert incident.alert_count == len(incident.alerts.all())


def test_a_firing_alert_keeps_what_alertmanager_sent(client: Client, integration: Integration) -> None:
    post(client, integration, payload("firing"))

    incident = Incident.objects.get()
    alert = incident.alerts.get()
    assert alert.key == "5f1e7b2c9a0d3e84"
    assert (alert.source, alert.component, alert.group, alert.severity) == (
        "checkout-api-7d9f8c6b5-x2lqp:8080",
        "checkout-api",
        "CheckoutHighLatency",
        "critical",
    )
    assert alert.labels["team"] == "payments"
    assert alert.details["annotations"]["runbook_url"] == "https://runbooks.example.com/checkout/high-latency"
    assert alert.details["group"]["groupLabels"] == {"alertname": "CheckoutHighLatency"}
    assert alert.details["group"]["receiver"] == "irp-checkout"
    assert [link["text"] for link in alert.links] == ["Source", "Alertmanager"]
    assert alert.links[0]["href"].startswith("http://prometheus.example.com:9090/graph?g0.expr=")
    assert alert.links[1]["href"] == "http://alertmanager.example.com:9093"
    assert incident.started_at == datetime(2026, 3, 2, 9, 14, 5, 417000, tzinfo=UTC)
    assert timeline_kinds(incident) == ["triggered", "severity_set", "alert_received"]
    assert "'critical' maps to P1" in incident.timeline.get(kind="severity_set").message


def test_one_incident_per_group_key_and_one_alert_per_fingerprint(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    post(client, integration, payload("firing"))

    crashloop = Incident.objects.get(dedup_key=CRASHLOOP_GROUP)
    checkout = Incident.objects.get(dedup_key=CHECKOUT_GROUP)
    assert Incident.objects.count() == 2
    assert alert_states(crashloop) == {POD_A: "firing", POD_B: "firing", POD_C: "firing"}
    assert sorted(crashloop.alerts.values_list("labels__pod", flat=True)) == [
        "checkout-worker-6c9d7b8f4-2hxkq",
        "checkout-worker-6c9d7b8f4-9wzrt",
        "checkout-worker-6c9d7b8f4-tq4mn",
    ]
    assert crashloop.alert_count == 3
    assert timeline_kinds(crashloop) == [
        "triggered",
        "severity_set",
        "alert_received",
        "alert_grouped",
        "alert_grouped",
    ]
    assert alert_states(checkout) == {"5f1e7b2c9a0d3e84": "firing"}


def test_the_incident_resolves_only_when_every_alert_has_resolved(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    post(client, integration, payload("group-some-resolved"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert alert_states(incident) == {POD_A: "resolved", POD_B: "firing", POD_C: "resolved"}
    assert incident.alerts.get(key=POD_A).resolved_at is not None
    assert incident.alerts.get(key=POD_B).resolved_at is None
    assert incident.timeline.filter(kind=TimelineEntry.Kind.ALERT_RESOLVED).count() == 2

    post(client, integration, payload("group-all-resolved"))

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_at is not None
    assert alert_states(incident) == {POD_A: "resolved", POD_B: "resolved", POD_C: "resolved"}
    assert timeline_kinds(incident)[-2:] == ["alert_resolved", "resolved"]
    assert incident.timeline.filter(kind=TimelineEntry.Kind.ALERT_RESOLVED).count() == 3
    resolved = incident.timeline.get(kind=TimelineEntry.Kind.RESOLVED)
    assert resolved.actor_label == "Prometheus Alertmanager integration 'Prometheus'"
    assert "every alert has resolved" in resolved.message


def test_with_auto_resolve_off_the_incident_stays_open(client: Client) -> None:
    integration = make_integration(Integration.Kind.ALERTMANAGER, auto_resolve=False, rate_limit_per_minute=10_000)
    post(client, integration, payload("firing"))
    post(client, integration, payload("resolved"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.resolved_at is None
    assert alert_states(incident) == {"5f1e7b2c9a0d3e84": "resolved"}
    assert timeline_kinds(incident) == ["triggered", "severity_set", "alert_received", "alert_resolved"]


def test_a_group_resent_on_repeat_interval_changes_nothing(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    incident = Incident.objects.get()
    before = (stored_rows(), incident.alert_count, list(incident.alerts.values_list("occurrences", "last_received_at")))
    repeat = payload("group-firing") | {"notification_reason": "repeat interval elapsed"}

    response = post(client, integration, repeat)

    incident.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["incidents"] == [incident.pk]
    after = (stored_rows(), incident.alert_count, list(incident.alerts.values_list("occurrences", "last_received_at")))
    assert after == before
    assert incident.status == Incident.Status.TRIGGERED


def test_a_resolved_group_with_no_open_incident_creates_nothing(client: Client, integration: Integration) -> None:
    response = post(client, integration, payload("group-all-resolved"))

    assert response.status_code == 200
    assert stored_rows() == (0, 0, 0)

    # Nor does a resolved notification re-sent after the incident has already resolved.
    post(client, integration, payload("firing"))
    post(client, integration, payload("resolved"))
    rows = stored_rows()
    post(client, integration, payload("resolved"))
    assert stored_rows() == rows
    assert Incident.objects.get().status == Incident.Status.RESOLVED


def test_after_resolution_the_same_group_firing_again_opens_a_new_incident(
    client: Client, integration: Integration
) -> None:
    post(client, integration, payload("firing"))
    post(client, integration, payload("resolved"))
    post(client, integration, payload("firing"))

    first, second = Incident.objects.order_by("pk")
    assert first.status == Incident.Status.RESOLVED
    assert second.status == Incident.Status.TRIGGERED
    assert first.dedup_key == second.dedup_key == CHECKOUT_GROUP
    assert alert_states(second) == {"5f1e7b2c9a0d3e84": "firing"}


def test_an_alert_that_fires_again_rejoins_its_open_incident(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    post(client, integration, payload("group-some-resolved"))
    post(client, integration, payload("group-firing"))

    incident = Incident.objects.get()
    assert alert_states(incident) == {POD_A: "firing", POD_B: "firing", POD_C: "firing"}
    pod_a = incident.alerts.get(key=POD_A)
    assert (pod_a.occurrences, pod_a.resolved_at) == (2, None)
    again = incident.timeline.filter(message__startswith="Firing again").values_list("data__key", flat=True)
    assert sorted(again) == [POD_A, POD_C]
    assert incident.alert_count == 5


def test_unknown_and_newer_fields_are_accepted_and_kept(client: Client, integration: Integration) -> None:
    response = post(client, integration, payload("unknown-fields"))

    assert response.status_code == 200
    alert = Alert.objects.get()
    assert alert.details["extra"] == {"silencedBy": [], "inhibitedBy": [], "mutedBy": []}
    group = alert.details["group"]
    assert group["notification_reason"] == "new alerts added"
    assert group["routeLabels"] == {"team": "platform"}
    assert group["groupID"] == "01JNQ8ZK3W5V7X9Y2A4C6E8G0H"
    assert "alerts" not in group


def test_a_truncated_group_stays_open_until_the_group_resolves(client: Client, integration: Integration) -> None:
    post(client, integration, payload("truncated"))

    incident = Incident.objects.get()
    assert alert_states(incident) == {TARGET_21: "firing", TARGET_22: "firing", CUT: "firing"}
    cut = incident.alerts.get(key=CUT)
    assert (cut.summary, cut.severity, cut.labels["job"]) == (UNSEEN, "critical", "inventory-api")
    assert cut.details["group"]["truncatedAlerts"] == 5

    # Every alert we were shown has resolved, but the group still fires with alerts we were not shown.
    post(client, integration, payload("truncated-listed-resolved"))

    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
    assert alert_states(incident) == {TARGET_21: "resolved", TARGET_22: "resolved", CUT: "firing"}

    post(client, integration, payload("truncated-group-resolved"))

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert alert_states(incident) == {TARGET_21: "resolved", TARGET_22: "resolved", CUT: "resolved"}
    assert timeline_kinds(incident)[-2:] == ["alert_resolved", "resolved"]


def test_a_group_that_is_not_truncated_adds_no_stand_in_alert(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    post(client, integration, payload("group-all-resolved"))

    assert not Alert.objects.filter(key=CUT).exists()
    assert Incident.objects.get().status == Incident.Status.RESOLVED


def test_an_alert_without_fingerprint_is_keyed_by_its_labels(client: Client, integration: Integration) -> None:
    post(client, integration, payload("legacy-without-fingerprint"))
    post(client, integration, payload("legacy-without-fingerprint"))

    alert = Alert.objects.get()
    assert alert.key.startswith("labels:")
    assert alert.occurrences == 1
    # Nanosecond precision, as Alertmanager writes it, is read to the microsecond.
    assert alert.started_at == datetime(2026, 3, 2, 12, 45, 26, 739266, tzinfo=UTC)


def test_a_very_long_group_key_is_stored_as_a_stable_digest(client: Client, integration: Integration) -> None:
    body = payload("firing")
    body["groupKey"] = "{}/{" + ", ".join(f'label_{n}="{"x" * 20}"' for n in range(12)) + '}:{alertname="Long"}'
    post(client, integration, body)
    post(client, integration, body)

    incident = Incident.objects.get()
    assert len(body["groupKey"]) > 255
    assert incident.dedup_key.startswith("sha256:")
    assert incident.alerts.count() == 1


def _without(name: str, field: str) -> dict[str, Any]:
    body = payload(name)
    del body[field]
    return body


def _with(name: str, **changes: Any) -> dict[str, Any]:
    return payload(name) | changes


def _alert_with(name: str, **changes: Any) -> dict[str, Any]:
    body = payload(name)
    body["alerts"][0] |= changes
    return body


MALFORMED = [
    ("missing groupKey", _without("firing", "groupKey"), "'groupKey' is missing or blank."),
    ("blank groupKey", _with("firing", groupKey=""), "'groupKey' is missing or blank."),
    ("alerts not a list", _with("firing", alerts={"status": "firing"}), "'alerts' must be an array."),
    ("alert not an object", _with("firing", alerts=["firing"]), "'alerts[0]' must be an object."),
    ("bad alert status", _alert_with("firing", status="pending"), "'alerts[0].status' must be 'firing' or 'resolved'."),
    ("labels not an object", _alert_with("firing", labels=["a"]), "'alerts[0].labels' must be an object."),
    ("wrong version", _with("firing", version="3"), "'version' is '3'; this endpoint reads version 4."),
    ("not an object", [payload("firing")], "The webhook body must be a JSON object."),
]


@pytest.mark.parametrize(("case", "body", "error"), MALFORMED, ids=[case for case, _, _ in MALFORMED])
def test_a_malformed_body_gets_a_400_naming_the_problem_and_stores_nothing(
    client: Client, integration: Integration, case: str, body: Any, error: str
) -> None:
    response = post(client, integration, body)

    assert response.status_code == 400
    assert error in response.json()["errors"]
    assert stored_rows() == (0, 0, 0)


def test_a_group_with_one_bad_alert_stores_none_of_it(client: Client, integration: Integration) -> None:
    body = payload("group-firing")
    body["alerts"][2]["status"] = "suppressed"

    response = post(client, integration, body)

    assert response.status_code == 400
    assert response.json()["errors"] == ["'alerts[2].status' must be 'firing' or 'resolved'."]
    assert stored_rows() == (0, 0, 0)


def test_an_unknown_integration_key_is_a_404(client: Client) -> None:
    response = client.post("/integrations/not-a-key/alerts", payload("firing"), content_type="application/json")

    assert response.status_code == 404
    assert stored_rows() == (0, 0, 0)
