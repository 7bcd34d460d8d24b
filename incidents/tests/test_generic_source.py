"""IRP's generic JSON source: one alert per body, keyed by its dedup key (or its title)."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from incidents.models import Alert, Incident, Integration, TimelineEntry
from incidents.tests.factories import (
    load_fixture,
    make_integration,
    post,
    stored_rows,
    timeline_kinds,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[1] / "sources" / "fixtures" / "generic"
INVOICE_KEY = "billing/invoice-export/2026-03-02"


def payload(name: str) -> dict[str, Any]:
    return load_fixture("generic", name)


@pytest.fixture
def integration() -> Integration:
    return make_integration(Integration.Kind.GENERIC, name="Cron checks", rate_limit_per_minute=10_000)


STANDALONE = [
    ("firing", 1, "Nightly invoice export failed", "P2", INVOICE_KEY),
    ("resolved", 0, None, None, None),
    ("acknowledge", 0, None, None, None),
    (
        "with-links-labels-details",
        1,
        "TLS certificate for api.example.com expires in 6 days",
        "P3",
        "cert-expiry/api.example.com",
    ),
    ("title-only", 1, "Backup job did not report in 26 hours", "P2", "Backup job did not report in 26 hours"),
    ("unknown-fields", 1, "Queue depth on orders-consumer above 10000", "P2", "orders-consumer-queue-depth"),
]


def test_every_fixture_file_has_an_expected_outcome() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.json")) == sorted(name for name, *_ in STANDALONE)


@pytest.mark.parametrize(("name", "incidents", "title", "severity", "key"), STANDALONE)
def test_each_fixture_produces_the_expected_incident_and_alert(
    client: Client,
    integration: Integration,
    name: str,
    incidents: int,
    title: str | None,
    severity: str | None,
    key: str | None,
) -> None:
    response = post(client, integration, payload(name))

    assert response.status_code == 200
    assert Incident.objects.count() == incidents
    if not incidents:  # resolve and acknowledge act on an open alert; with none, nothing happens
        assert stored_rows() == (0, 0, 0)
        return
    incident = Incident.objects.get()
    assert response.json()["incidents"] == [incident.pk]
    assert (incident.status, incident.title, incident.severity.name) == ("triggered", title, severity)
    assert incident.dedup_key == key
    assert list(incident.alerts.values_list("key", "status")) == [(key, "firing")]
    assert timeline_kinds(incident) == ["triggered", "severity_set", "alert_received"]


def test_links_labels_details_and_start_time_are_kept(client: Client, integration: Integration) -> None:
    post(client, integration, payload("with-links-labels-details"))

    incident = Incident.objects.get()
    alert = incident.alerts.get()
    assert alert.links == [
        {"href": "https://certs.example.com/api.example.com", "text": "Certificate inventory"},
        {"href": "https://runbooks.example.com/tls/renew", "text": ""},
    ]
    assert alert.labels == {"team": "platform", "domain": "api.example.com", "days_left": "6"}
    assert alert.details == payload("with-links-labels-details")["details"]
    assert (alert.source, alert.severity) == ("cert-checker", "warning")
    assert incident.started_at == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


def test_firing_acknowledge_resolve(client: Client, integration: Integration) -> None:
    post(client, integration, payload("firing"))
    post(client, integration, payload("acknowledge"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.acknowledged_at is not None

    post(client, integration, payload("resolved"))

    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    assert incident.alerts.get().status == Alert.Status.RESOLVED
    assert timeline_kinds(incident) == [
        "triggered",
        "severity_set",
        "alert_received",
        "acknowledged",
        "alert_resolved",
        "resolved",
    ]


def test_a_repeated_firing_is_counted_on_the_open_incident(client: Client, integration: Integration) -> None:
    post(client, integration, payload("firing"))
    timeline_rows = TimelineEntry.objects.count()
    post(client, integration, payload("firing"))

    incident = Incident.objects.get()
    assert incident.alert_count == 2
    assert incident.alerts.get().occurrences == 2
    assert TimelineEntry.objects.count() == timeline_rows


def test_with_auto_resolve_off_a_resolved_alert_leaves_the_incident_open(client: Client) -> None:
    integration = make_integration(Integration.Kind.GENERIC, auto_resolve=False, rate_limit_per_minute=10_000)
    post(client, integration, payload("firing"))
    post(client, integration, payload("resolved"))

    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.alerts.get().status == Alert.Status.RESOLVED


def test_after_resolve_the_same_key_opens_a_new_incident(client: Client, integration: Integration) -> None:
    post(client, integration, payload("firing"))
    post(client, integration, payload("resolved"))
    post(client, integration, payload("firing"))

    first, second = Incident.objects.order_by("pk")
    assert (first.status, second.status) == ("resolved", "triggered")
    assert first.dedup_key == second.dedup_key == INVOICE_KEY


def test_unknown_fields_are_ignored_and_severity_words_are_mapped(client: Client, integration: Integration) -> None:
    post(client, integration, payload("unknown-fields"))

    alert = Alert.objects.get()
    assert alert.severity == "error"  # "HIGH"
    assert alert.details == {"depth": 12873, "consumers": 0}
    assert alert.labels == {"queue": "orders", "vhost": "/shop"}


def _firing(**changes: Any) -> dict[str, Any]:
    return payload("firing") | changes


MALFORMED = [
    ("missing title", {"severity": "error"}, "'title' is missing or blank."),
    ("blank title", _firing(title="  "), "'title' is missing or blank."),
    ("title too long", _firing(title="x" * 1025), "'title' is longer than 1024 characters."),
    ("blank dedup_key", _firing(dedup_key=""), "'dedup_key' must be a non-empty string."),
    (
        "unknown status",
        _firing(status="ok"),
        "'status' must be one of: firing, trigger, resolved, resolve, acknowledge.",
    ),
    (
        "status a list",
        _firing(status=["firing"]),
        "'status' must be one of: firing, trigger, resolved, resolve, acknowledge.",
    ),
    ("details not an object", _firing(details="disk full"), "'details' must be an object."),
    ("links not a list", _firing(links="https://x.example"), "'links' must be an array of objects with an 'href'."),
    ("link without href", _firing(links=[{"text": "Runbook"}]), "'links' must be an array of objects with an 'href'."),
    ("labels not an object", _firing(labels=["team:payments"]), "'labels' must be an object."),
    ("severity not text", _firing(severity=1), "'severity' must be a string."),
    ("not an object", [payload("firing")], "The body must be a JSON object."),
]


@pytest.mark.parametrize(("case", "body", "error"), MALFORMED, ids=[case for case, _, _ in MALFORMED])
def test_a_malformed_body_gets_a_400_naming_the_problem_and_stores_nothing(
    client: Client, integration: Integration, case: str, body: Any, error: str
) -> None:
    response = post(client, integration, body)

    assert response.status_code == 400
    assert response.json()["errors"] == [error]
    assert stored_rows() == (0, 0, 0)
