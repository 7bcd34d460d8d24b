"""Grafana alerting webhook (version 1): real-shaped payloads posted to the integration's URL."""

import json
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

FIXTURES = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "grafana"
GRAFANA = "https://grafana.example.com"
CHECKOUT = "8a1f0c2d3b4e5f67"
# The two zones of group-*.json.
EU, US = "4d7e9a1b2c3f5061", "9e8d7c6b5a4f3e21"
# The two hosts truncated*.json list, and the alert standing for those Max Alerts cut.
DB_01, DB_02, CUT = "1a2b3c4d5e6f7081", "2b3c4d5e6f708192", "truncated-alerts"
UNSEEN = "More alerts in this group than Grafana sent (its max alerts setting); they resolve with the group."


def payload(name: str) -> dict[str, Any]:
    return load_fixture("grafana", name)


@pytest.fixture
def integration() -> Integration:
    return make_integration(Integration.Kind.GRAFANA, name="Grafana Cloud", rate_limit_per_minute=10_000)


STANDALONE = [
    ("firing", 1, "Checkout error rate above 5%", "P1", {CHECKOUT: "firing"}),
    ("resolved", 0, None, None, {}),
    ("group-firing", 1, "High memory usage in zone eu-1", "P2", {EU: "firing", US: "firing"}),
    ("group-some-resolved", 1, "High memory usage in zone eu-1", "P2", {EU: "firing"}),
    ("group-state-ok", 0, None, None, {}),
    (
        "unknown-fields",
        1,
        "[FIRING:1] DatasourceNoData Data (P8E80F9AEF21F6940 Orders per minute)",
        "P2",
        {"f0e1d2c3b4a59687": "firing"},
    ),
    ("truncated", 1, "Disk on db-01 is more than 90% full", "P3", {DB_01: "firing", DB_02: "firing", CUT: "firing"}),
    ("truncated-listed-resolved", 1, UNSEEN, "P3", {CUT: "firing"}),
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
    alerts: dict[str, str],
) -> None:
    body = payload(name)

    response = post(client, integration, body)

    assert response.status_code == 200
    assert Incident.objects.count() == incidents
    if not incidents:
        assert stored_rows() == (0, 0, 0)
        return
    incident = Incident.objects.get()
    assert response.json()["incidents"] == [incident.pk]
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.title == title
    assert incident.severity.name == severity
    assert incident.dedup_key == body["groupKey"]
    assert alert_states(incident) == alerts


def test_dashboard_panel_and_silence_urls_are_links_and_the_image_is_kept(
    client: Client, integration: Integration
) -> None:
    post(client, integration, payload("firing"))

    alert = Alert.objects.get()
    assert [(link["text"], link["href"]) for link in alert.links] == [
        ("Source", f"{GRAFANA}/alerting/grafana/de3kq1x9zrv0ga/view?orgId=1"),
        ("Grafana", f"{GRAFANA}/"),
        ("Dashboard", f"{GRAFANA}/d/ck7Yh2xVz/checkout-overview?orgId=1"),
        ("Panel", f"{GRAFANA}/d/ck7Yh2xVz/checkout-overview?orgId=1&viewPanel=4"),
        ("Silence", payload("firing")["alerts"][0]["silenceURL"]),
    ]
    assert alert.images == [{"src": f"{GRAFANA}/public/img/attachments/vXf3kq9PzL1mT8wR.png", "alt": "Panel image"}]
    assert alert.details["grafana"]["values"] == {"A": 0.0734, "C": 1}
    assert alert.details["grafana"]["valueString"].startswith("[ var='A' labels={service=checkout-api} value=0.0734 ]")
    group = alert.details["group"]
    assert (group["title"], group["state"], group["orgId"]) == (
        "[FIRING:1] Checkout error rate Checkout (checkout-api critical payments)",
        "alerting",
        1,
    )
    assert group["message"].startswith("**Firing**")
    assert "extra" not in alert.details  # every field Grafana documents is read, none is "unknown"
    assert alert.started_at == datetime(2026, 3, 2, 14, 5, 10, tzinfo=UTC)


def test_empty_dashboard_and_panel_urls_make_no_links(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))

    alert = Alert.objects.get(key=EU)
    assert [link["text"] for link in alert.links] == ["Source", "Grafana", "Silence"]
    assert alert.images == []


def test_state_ok_resolves_the_alert_and_the_incident(client: Client, integration: Integration) -> None:
    post(client, integration, payload("firing"))
    post(client, integration, payload("resolved"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.resolved_at is not None
    assert alert_states(incident) == {CHECKOUT: "resolved"}
    assert timeline_kinds(incident) == ["triggered", "severity_set", "alert_received", "alert_resolved", "resolved"]


def test_state_ok_wins_over_an_alert_still_marked_firing(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    late = payload("group-state-ok")
    late["alerts"][0]["status"] = "firing"

    post(client, integration, late)

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.RESOLVED
    assert alert_states(incident) == {EU: "resolved", US: "resolved"}


def test_a_group_resolves_only_when_every_alert_has(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    post(client, integration, payload("group-some-resolved"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert alert_states(incident) == {EU: "firing", US: "resolved"}

    post(client, integration, payload("group-state-ok"))

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert alert_states(incident) == {EU: "resolved", US: "resolved"}
    assert incident.timeline.filter(kind=TimelineEntry.Kind.ALERT_RESOLVED).count() == 2
    assert incident.timeline.filter(kind=TimelineEntry.Kind.RESOLVED).count() == 1


def test_with_auto_resolve_off_state_ok_leaves_the_incident_open(client: Client) -> None:
    integration = make_integration(Integration.Kind.GRAFANA, auto_resolve=False, rate_limit_per_minute=10_000)
    post(client, integration, payload("group-firing"))
    post(client, integration, payload("group-state-ok"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert alert_states(incident) == {EU: "resolved", US: "resolved"}
    assert not incident.timeline.filter(kind=TimelineEntry.Kind.RESOLVED).exists()


def test_a_group_resent_unchanged_changes_nothing(client: Client, integration: Integration) -> None:
    post(client, integration, payload("group-firing"))
    incident = Incident.objects.get()
    before = (stored_rows(), incident.alert_count, list(incident.alerts.values_list("occurrences", "status")))

    post(client, integration, payload("group-firing"))

    incident.refresh_from_db()
    assert (stored_rows(), incident.alert_count, list(incident.alerts.values_list("occurrences", "status"))) == before


def test_without_annotations_the_grafana_title_is_the_summary_and_unknown_fields_are_kept(
    client: Client, integration: Integration
) -> None:
    response = post(client, integration, payload("unknown-fields"))

    assert response.status_code == 200
    alert = Alert.objects.get()
    assert alert.summary == "[FIRING:1] DatasourceNoData Data (P8E80F9AEF21F6940 Orders per minute)"
    assert alert.details["extra"] == {"ruleUID": "ee1Qw9pZk", "enrichments": {"owner": "data-team"}}
    assert alert.details["group"]["receiverUID"] == "fe4b2kq0s8pz4b"
    assert alert.details["group"]["notificationSettings"] == {"groupInterval": "5m", "repeatInterval": "4h"}
    assert alert.details["grafana"] == {"values": None, "valueString": ""}


def test_a_truncated_group_stays_open_until_state_ok(client: Client, integration: Integration) -> None:
    post(client, integration, payload("truncated"))
    post(client, integration, payload("truncated-listed-resolved"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert alert_states(incident) == {DB_01: "resolved", DB_02: "resolved", CUT: "firing"}
    assert incident.alerts.get(key=CUT).details["group"]["truncatedAlerts"] == 3

    over = payload("truncated-listed-resolved") | {"status": "resolved", "state": "ok", "truncatedAlerts": 0}
    post(client, integration, over)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert alert_states(incident) == {DB_01: "resolved", DB_02: "resolved", CUT: "resolved"}


def test_a_long_message_is_cut_before_it_is_copied_onto_every_alert(client: Client, integration: Integration) -> None:
    body = payload("group-firing")
    body["message"] = "**Firing**\n" + "Labels:\n - zone = eu-1\n" * 5_000

    post(client, integration, body)

    messages = [alert.details["group"]["message"] for alert in Alert.objects.all()]
    assert [len(message) for message in messages] == [2000, 2000]
    assert messages[0].endswith("…")


def _alert_with(name: str, **changes: Any) -> dict[str, Any]:
    body = payload(name)
    body["alerts"][0] |= changes
    return body


MALFORMED = [
    (
        "Alertmanager's version",
        payload("firing") | {"version": "4"},
        "'version' is '4'; this endpoint reads version 1.",
    ),
    (
        "missing groupKey",
        {k: v for k, v in payload("firing").items() if k != "groupKey"},
        "'groupKey' is missing or blank.",
    ),
    ("alerts not a list", payload("firing") | {"alerts": None}, "'alerts' must be an array."),
    (
        "bad alert status",
        _alert_with("firing", status="alerting"),
        "'alerts[0].status' must be 'firing' or 'resolved'.",
    ),
    ("annotations not an object", _alert_with("firing", annotations="x"), "'alerts[0].annotations' must be an object."),
    ("not an object", "ok", "The webhook body must be a JSON object."),
]


@pytest.mark.parametrize(("case", "body", "error"), MALFORMED, ids=[case for case, _, _ in MALFORMED])
def test_a_malformed_body_gets_a_400_naming_the_problem_and_stores_nothing(
    client: Client, integration: Integration, case: str, body: Any, error: str
) -> None:
    response = post(client, integration, json.dumps(body))

    assert response.status_code == 400
    assert error in response.json()["errors"]
    assert stored_rows() == (0, 0, 0)
