"""Rate limits per key, and concurrent senders of the same alert."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from conftest import skip_or_fail
from incidents.models import Alert, Incident, Integration
from incidents.tests.factories import make_integration, make_service


def trigger_body(integration: Integration, key: str = "k") -> dict[str, Any]:
    return {
        "routing_key": integration.key,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "Too many 5xx", "source": "lb-1", "severity": "critical"},
    }


@pytest.mark.django_db
def test_a_key_over_its_limit_gets_429_with_retry_after_and_another_key_is_unaffected(client: Client) -> None:
    service = make_service()
    noisy = make_integration(service=service, name="Noisy", rate_limit_per_minute=5)
    quiet = make_integration(service=service, name="Quiet", rate_limit_per_minute=5)

    answers = [client.post("/v2/enqueue", trigger_body(noisy), content_type="application/json") for _ in range(7)]
    other = client.post("/v2/enqueue", trigger_body(quiet, "other"), content_type="application/json")

    assert [answer.status_code for answer in answers] == [202] * 5 + [429] * 2
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert "5 events per minute" in answers[-1].json()["message"]
    assert other.status_code == 202
    assert Incident.objects.get(dedup_key="k").alert_count == 5  # throttled events are not stored


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_data")
def test_twenty_concurrent_triggers_with_one_dedup_key_open_exactly_one_incident() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("this race needs PostgreSQL's concurrent writers (SQLite serialises them)")
    integration = make_integration(rate_limit_per_minute=10_000)
    start = threading.Barrier(20)
    statuses: list[int] = []

    def send() -> None:
        try:
            start.wait()
            response = Client().post("/v2/enqueue", trigger_body(integration, "same"), content_type="application/json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [202] * 20
    incident = Incident.objects.get()
    assert incident.alert_count == 20
    assert Alert.objects.get().occurrences == 20
    assert incident.timeline.filter(kind="triggered").count() == 1
