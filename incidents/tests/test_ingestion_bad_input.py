"""Every kind of bad event gets PagerDuty's documented 4xx with a message naming the problem, and stores nothing."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from incidents.models import Alert, ChangeEvent, Incident, Integration, TimelineEntry
from incidents.tests.factories import make_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def integration() -> Integration:
    return make_integration(rate_limit_per_minute=10_000)


def good(integration: Integration) -> dict[str, Any]:
    return {
        "routing_key": integration.key,
        "event_action": "trigger",
        "payload": {"summary": "ok", "source": "x", "severity": "error"},
    }


def stored() -> tuple[int, int, int, int]:
    return Incident.objects.count(), Alert.objects.count(), TimelineEntry.objects.count(), ChangeEvent.objects.count()


def with_(integration: Integration, **changes: Any) -> bytes:
    body = good(integration)
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is ...:
            target.pop(leaf)
        else:
            target[leaf] = value
    return json.dumps(body).encode()


CASES = [
    # (name, body builder, content type, status, words the message must contain)
    ("not JSON", lambda i: b"{nope", "application/json", 400, "not valid JSON"),
    ("wrong content type", lambda i: json.dumps(good(i)).encode(), "text/plain", 400, "Content-Type"),
    ("form encoded", lambda i: b"routing_key=x", "application/x-www-form-urlencoded", 400, "Content-Type"),
    ("not an object", lambda i: b"[1, 2]", "application/json", 400, "JSON object"),
    ("missing routing key", lambda i: with_(i, routing_key=...), "application/json", 400, "'routing_key' is missing"),
    (
        "unknown routing key",
        lambda i: with_(i, routing_key="0" * 32),
        "application/json",
        400,
        "does not match any integration",
    ),
    ("routing key not a string", lambda i: with_(i, routing_key=42), "application/json", 400, "'routing_key'"),
    (
        "unknown event_action",
        lambda i: with_(i, event_action="explode"),
        "application/json",
        400,
        "'event_action' is invalid",
    ),
    ("missing payload", lambda i: with_(i, payload=...), "application/json", 400, "'payload' is missing"),
    (
        "missing summary",
        lambda i: with_(i, payload__summary=...),
        "application/json",
        400,
        "'payload.summary' is missing",
    ),
    (
        "summary too long",
        lambda i: with_(i, payload__summary="x" * 1025),
        "application/json",
        400,
        "'payload.summary' is longer than 1024",
    ),
    (
        "severity outside the enum",
        lambda i: with_(i, payload__severity="apocalyptic"),
        "application/json",
        400,
        "'payload.severity' is invalid",
    ),
    (
        "bad timestamp",
        lambda i: with_(i, payload__timestamp="yesterday"),
        "application/json",
        400,
        "'payload.timestamp'",
    ),
    (
        "dedup key not a string",
        lambda i: with_(i, dedup_key=["a"]),
        "application/json",
        400,
        "'dedup_key' must be a string",
    ),
    (
        "dedup key too long",
        lambda i: with_(i, dedup_key="k" * 256),
        "application/json",
        400,
        "'dedup_key' is longer than 255",
    ),
    (
        "resolve without dedup key",
        lambda i: with_(i, event_action="resolve"),
        "application/json",
        400,
        "'dedup_key' is required",
    ),
    ("links not a list", lambda i: with_(i, links={"href": "x"}), "application/json", 400, "'links' must be an array"),
    ("link without href", lambda i: with_(i, links=[{"text": "x"}]), "application/json", 400, "'links[0].href'"),
    (
        "body over 512 KB",
        lambda i: with_(i, payload__custom_details={"x": "y" * 600_000}),
        "application/json",
        413,
        "larger than 512 KB",
    ),
    (
        "JSON nested 10,000 deep",
        lambda i: b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        "application/json",
        400,
        "nested too deeply",
    ),
    ("invalid UTF-8", lambda i: b'{"routing_key": "\xff\xfe"}', "application/json", 400, "not valid UTF-8"),
    ("huge integer", lambda i: b'{"routing_key": ' + b"9" * 5000 + b"}", "application/json", 400, "not valid JSON"),
    (
        "huge float",
        lambda i: with_(i, payload__custom_details={"x": 0}).replace(b'"x": 0', b'"x": 1e999999'),
        "application/json",
        400,
        "out of range",
    ),
    (
        "NaN",
        lambda i: with_(i, payload__custom_details={"x": 0}).replace(b'"x": 0', b'"x": NaN'),
        "application/json",
        400,
        "NaN",
    ),
    ("NUL in a string", lambda i: with_(i, payload__summary="a\u0000b"), "application/json", 400, "NUL"),
]


@pytest.mark.parametrize(("name", "build", "content_type", "status", "words"), CASES, ids=[case[0] for case in CASES])
def test_bad_event_is_refused_plainly_and_stores_nothing(
    client: Client, integration: Integration, name: str, build: Any, content_type: str, status: int, words: str
) -> None:
    before = stored()

    response = client.generic("POST", "/v2/enqueue", build(integration), content_type=content_type)

    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "invalid event"
    assert body["message"] == "Event object is invalid"
    assert any(words in error for error in body["errors"]), body["errors"]
    assert stored() == before


def test_the_same_bad_bodies_never_crash_the_other_endpoints(client: Client, integration: Integration) -> None:
    webhook = make_integration("alertmanager", service=integration.service, name="AM", rate_limit_per_minute=10_000)
    for _, build, content_type, _, _ in CASES:
        for path in ("/v2/change/enqueue", f"/integrations/{webhook.key}/alerts"):
            response = client.generic("POST", path, build(integration), content_type=content_type)
            # Some of these are valid change events or alert groups; none may crash.
            assert response.status_code < 500, (path, response.content[:200])


def test_an_unknown_webhook_key_is_a_404(client: Client) -> None:
    response = client.post("/integrations/nope/alerts", {}, content_type="application/json")

    assert response.status_code == 404


def test_get_is_not_allowed(client: Client) -> None:
    assert client.get("/v2/enqueue").status_code == 405


@pytest.mark.parametrize(
    ("timestamp", "accepted"),
    [
        # Odd but real offsets are stored in UTC (PostgreSQL itself refuses offsets beyond ±15:59).
        ("2026-01-01T00:00:00+21:53", True),
        ("0595-03-18T09:08:29-22:38", True),
        # Times that leave the calendar once converted to UTC are refused.
        ("9999-12-31T23:59:59-15:00", False),
        ("0001-01-01T00:00:00+00:30", False),
    ],
)
def test_times_at_the_edges_are_stored_in_utc_or_refused_never_crash(
    client: Client, integration: Integration, timestamp: str, accepted: bool
) -> None:
    body = good(integration)
    body["payload"]["timestamp"] = timestamp
    change_body = {"routing_key": integration.key, "payload": {"summary": "x", "timestamp": timestamp}}

    response = client.post("/v2/enqueue", body, content_type="application/json")
    change = client.post("/v2/change/enqueue", change_body, content_type="application/json")

    if accepted:
        assert (response.status_code, change.status_code) == (202, 202)
        incident = Incident.objects.get()
        assert incident.started_at is not None
        assert incident.started_at.utcoffset() == timedelta(0)
        assert [row.title for row in Incident.objects.all()] == ["ok"]  # and it reads back
    else:
        assert (response.status_code, change.status_code) == (400, 400)
        assert "'payload.timestamp'" in response.json()["errors"][0]
        assert stored() == (0, 0, 0, 0)


def test_a_pagerduty_kind_webhook_refuses_a_body_that_is_not_an_object(
    client: Client, integration: Integration
) -> None:
    response = client.post(f"/integrations/{integration.key}/alerts", [None, None], content_type="application/json")

    assert response.status_code == 400
    assert stored() == (0, 0, 0, 0)


def test_a_plan_without_severity_levels_asks_the_sender_to_retry(client: Client, integration: Integration) -> None:
    from incidents.models import SeverityLevel

    SeverityLevel.objects.all().delete()

    response = client.post("/v2/enqueue", good(integration), content_type="application/json")

    assert response.status_code == 503
    assert "no severity levels" in response.json()["message"]
    assert response["Retry-After"]
