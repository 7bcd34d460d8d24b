"""The Statuspage v2 JSON endpoints validate against a schema written from Statuspage's documentation."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker, ValidationError

from incidents.services.statuspage import (
    maintenance_schedule,
    maintenance_tick,
    public_incident_publish,
    public_incident_update,
)
from incidents.status_json import KINDS
from incidents.tests.status_builders import make_component, make_group, make_incident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("status_cache_cleared")]

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "statuspage-v2.json").read_text())


def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(
        {**SCHEMA, "$ref": "#/endpoints/" + kind.replace("/", "~1")}, format_checker=FormatChecker()
    )


@pytest.fixture
def published(responder: User) -> dict[str, Any]:
    """A page with something in every list: groups, an open and a resolved incident, maintenance
    upcoming, in progress and completed."""
    now = timezone.now()
    payments = make_group("Payments")
    open_incident, old_incident = make_incident("Checkout 500s"), make_incident("Search down")
    checkout = make_component("Checkout", services=[open_incident.service], group=payments)
    cards = make_component("Card payments", group=payments, description="Cards and wallets")
    search = make_component("Search", services=[old_incident.service], start_date=now.date() - timedelta(days=30))
    open_public = public_incident_publish(
        open_incident,
        actor=responder,
        name="Payments failing",
        body="Investigating.",
        impact="major",
        components={checkout: "partial_outage", cards: "degraded_performance"},
    )
    public_incident_update(open_public, actor=responder, status="identified", body="Found it.")
    old_public = public_incident_publish(
        old_incident, actor=responder, name="Search slow", body="Looking.", components={search: "major_outage"}
    )
    public_incident_update(old_public, actor=responder, status="resolved", body="Fixed.")
    upcoming = maintenance_schedule(
        actor=responder,
        name="Database upgrade",
        body="Card payments may be slow.",
        scheduled_for=now + timedelta(days=2),
        scheduled_until=now + timedelta(days=2, hours=1),
        components=[cards],
    )
    active = maintenance_schedule(
        actor=responder,
        name="Search reindex",
        body="Results may be stale.",
        scheduled_for=now - timedelta(minutes=5),
        scheduled_until=now + timedelta(hours=1),
        components=[search],
    )
    done = maintenance_schedule(
        actor=responder,
        name="Network work",
        body="Done already.",
        scheduled_for=now - timedelta(hours=3),
        scheduled_until=now - timedelta(hours=2),
        components=[],
    )
    maintenance_tick(now)
    return {"upcoming": upcoming, "active": active, "done": done, "open": open_public, "resolved": old_public}


NON_EMPTY = {
    "summary": ["components", "incidents", "scheduled_maintenances"],
    "components": ["components"],
    "incidents": ["incidents"],
    "incidents/unresolved": ["incidents"],
    "scheduled-maintenances": ["scheduled_maintenances"],
    "scheduled-maintenances/upcoming": ["scheduled_maintenances"],
    "scheduled-maintenances/active": ["scheduled_maintenances"],
    "status": [],
}


@pytest.mark.parametrize("kind", KINDS)
def test_every_endpoint_validates_against_the_statuspage_schema(
    client: Client, published: dict[str, Any], kind: str
) -> None:
    response = client.get(f"/status/api/v2/{kind}.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] == "*"
    body = response.json()
    errors = sorted(validator(kind).iter_errors(body), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    for key in NON_EMPTY[kind]:
        assert body[key], f"{kind}: {key} is empty, so the schema checked nothing there"


def test_the_lists_hold_what_each_endpoint_promises(client: Client, published: dict[str, Any]) -> None:
    def names(kind: str, key: str) -> set[str]:
        return {item["name"] for item in client.get(f"/status/api/v2/{kind}.json").json()[key]}

    assert names("incidents", "incidents") == {"Payments failing", "Search slow"}
    assert names("incidents/unresolved", "incidents") == {"Payments failing"}
    assert names("scheduled-maintenances/upcoming", "scheduled_maintenances") == {"Database upgrade"}
    assert names("scheduled-maintenances/active", "scheduled_maintenances") == {"Search reindex"}
    assert names("scheduled-maintenances", "scheduled_maintenances") == {
        "Database upgrade",
        "Search reindex",
        "Network work",
    }
    summary = client.get("/status/api/v2/summary.json").json()
    assert summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    by_name = {component["name"]: component for component in summary["components"]}
    assert by_name["Payments"]["group"] is True
    assert set(by_name["Payments"]["components"]) == {by_name["Checkout"]["id"], by_name["Card payments"]["id"]}
    assert by_name["Payments"]["status"] == "partial_outage"
    assert by_name["Checkout"]["group_id"] == by_name["Payments"]["id"]
    assert by_name["Search"]["status"] == "under_maintenance"
    update = summary["incidents"][0]["incident_updates"][-1]
    assert {(c["name"], c["new_status"]) for c in update["affected_components"]} == {
        ("Checkout", "partial_outage"),
        ("Card payments", "degraded_performance"),
    }


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (["status", "indicator"], "red"),
        (["components", 0, "status"], "broken"),
        (["incidents", 0, "impact"], "maintenance"),
        (["incidents", 0, "incident_updates", 0, "status"], "in_progress"),
        (["page", "updated_at"], "yesterday"),
    ],
)
def test_the_schema_refuses_what_statuspage_would_not_send(
    client: Client, published: dict[str, Any], path: list[Any], bad: Any
) -> None:
    body = client.get("/status/api/v2/summary.json").json()
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = bad
    with pytest.raises(ValidationError):
        validator("summary").validate(body)


def test_an_internal_field_added_to_an_incident_fails_the_schema(client: Client, published: dict[str, Any]) -> None:
    body = client.get("/status/api/v2/incidents.json").json()
    body["incidents"][0]["internal_title"] = "Checkout 500s"
    with pytest.raises(ValidationError):
        validator("incidents").validate(body)
