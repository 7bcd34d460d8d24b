"""Bad input gets a 400 that names the field, and nothing stored changes."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from incidents.models import ResponsePlan, Role, Service, SeverityLevel
from incidents.models.comms import CommsKind, CommsRule
from oncall.models import Team

pytestmark = pytest.mark.django_db

LEVELS = "/api/v1/severity-levels/"
P1 = "/api/v1/severity-levels/{p1}/"


def snapshot() -> list[Any]:
    models = (ResponsePlan, SeverityLevel, CommsRule, Role, Service, Team)
    return [list(model.objects.order_by("pk").values()) for model in models]


@pytest.fixture
def owner_client(plan_owner: User, api_client_for: Callable[[User], APIClient]) -> APIClient:
    return api_client_for(plan_owner)


@pytest.fixture
def p1() -> SeverityLevel:
    return SeverityLevel.objects.get(name="P1")


NEW = {"name": "P9", "title": "x", "impact_criteria": "x"}
ROLE = {"key": "x", "name": "X", "summary": "s", "responsibilities": "r"}
NUL_CONDITION = {"field": "summary", "op": "equals", "value": "a\x00b"}
SILENCE = {"comment": "c", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-02T00:00:00Z"}
BAD_INPUTS = [
    ("post", LEVELS, {**NEW, "ack_window_seconds": -300}, "ack_window_seconds"),
    ("patch", P1, {"ack_window_seconds": -1}, "ack_window_seconds"),
    ("patch", P1, {"ack_window_seconds": 0}, "ack_window_seconds"),
    ("patch", P1, {"ack_window_seconds": "five minutes"}, "ack_window_seconds"),
    ("patch", P1, {"ack_window_seconds": 10**30}, "ack_window_seconds"),
    ("post", LEVELS, {**NEW, "name": "P1", "ack_window_seconds": 60}, "name"),
    ("patch", P1, {"name": "P2"}, "name"),
    ("patch", P1, {"ack_window_seconds": None}, "ack_window_seconds"),
    ("patch", P1, {"resolution_target_kind": "next_business_day"}, "resolution_target_seconds"),
    ("patch", P1, {"resolution_target_kind": "whenever"}, "resolution_target_kind"),
    ("patch", P1, {"postmortem_due_business_days": None}, "postmortem_due_business_days"),
    # The cadence moved to /api/v1/comms-rules/: the old fields are refused, not silently ignored.
    ("patch", P1, {"internal_update_interval_seconds": 600}, "internal_update_interval_seconds"),
    ("post", LEVELS, {**NEW, "status_page_update_interval_seconds": 600}, "status_page_update_interval_seconds"),
    ("post", "/api/v1/services/", {"name": "Orphan", "owner_team": 999999}, "owner_team"),
    ("post", "/api/v1/services/", {"name": "Orphan", "owner_team": "platform"}, "owner_team"),
    ("post", "/api/v1/services/", {"name": "Orphan"}, "owner_team"),
    ("post", "/api/v1/teams/", {"name": "Data", "manager": 999999}, "manager"),
    ("post", "/api/v1/teams/", {"name": "Data", "members": [999999]}, "members"),
    ("post", "/api/v1/teams/", {"name": ""}, "name"),
    ("post", "/api/v1/roles/", {"key": "x y", "name": "X", "summary": "s", "responsibilities": "r"}, "key"),
    (
        "post",
        "/api/v1/roles/",
        {"key": "x", "name": "X", "summary": "s", "responsibilities": "r", "required_for": ["P7"]},
        "required_for",
    ),
    ("patch", "/api/v1/plan/", {"review_interval_days": 0}, "review_interval_days"),
    ("patch", "/api/v1/plan/", {"review_interval_days": -5}, "review_interval_days"),
    ("patch", "/api/v1/plan/", {"last_reviewed_on": "last Tuesday"}, "last_reviewed_on"),
    ("patch", "/api/v1/plan/", {"owner": 999999}, "owner"),
    # U+0000: PostgreSQL stores it neither in text nor in jsonb.
    ("post", "/api/v1/roles/", {**ROLE, "required_for": ["\x00"]}, "required_for"),
    ("post", "/api/v1/routing-rules/", {"name": "r", "conditions": [NUL_CONDITION]}, "conditions"),
    ("post", "/api/v1/routing-rules/", {"name": "r", "add_labels": {"team\x00": "x"}}, "add_labels"),
    ("post", "/api/v1/silences/", {**SILENCE, "matchers": [{"name": "a", "value": "\x00"}]}, "matchers"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), BAD_INPUTS)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    owner_client: APIClient, p1: SeverityLevel, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = snapshot()

    response = getattr(owner_client, method)(path.format(p1=p1.pk), body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content_type", "payload"),
    [
        ("application/json", b"{not json"),
        ("application/json", b"\xff\xfe\x00garbage"),
        ("application/json", b"[1, 2, 3]"),
        ("application/json", b"[" * 10_000 + b"]" * 10_000),
        ("application/json", b'{"name": "P9", "rank": 1e999999}'),
        ("text/plain", b"name=P9"),
    ],
)
def test_malformed_bodies_are_4xx_not_5xx(owner_client: APIClient, content_type: str, payload: bytes) -> None:
    before = snapshot()

    body: Any = payload  # raw bytes on purpose, invalid UTF-8 included
    response = owner_client.generic("POST", LEVELS, body, content_type=content_type)

    assert 400 <= response.status_code < 500, response.content
    assert snapshot() == before


def test_the_cadence_is_read_on_the_severity_and_changed_through_comms_rules(
    owner_client: APIClient, p1: SeverityLevel
) -> None:
    refused = owner_client.patch(f"{LEVELS}{p1.pk}/", {"internal_update_interval_seconds": 600}, format="json")
    assert refused.json()["internal_update_interval_seconds"] == [
        "No longer here: the cadence is set through /api/v1/comms-rules/."
    ]
    rules = owner_client.get(f"{LEVELS}{p1.pk}/").json()["comms_rules"]
    internal = next(rule for rule in rules if rule["kind"] == CommsKind.INTERNAL_UPDATE)
    assert internal == {
        "id": internal["id"],
        "kind": "internal_update",
        "stakeholder_group": None,
        "first_due_after_seconds": 900,
        "interval_seconds": 900,
        "grace_seconds": 300,
    }
    assert sorted(rule["kind"] for rule in rules) == [
        "internal_update",
        "management_briefing",
        "stakeholder_notice",
        "status_page",
    ]

    changed = owner_client.patch(f"/api/v1/comms-rules/{internal['id']}/", {"interval_seconds": 600}, format="json")

    assert changed.status_code == 200, changed.content
    rules = owner_client.get(f"{LEVELS}{p1.pk}/").json()["comms_rules"]
    assert next(rule for rule in rules if rule["kind"] == "internal_update")["interval_seconds"] == 600
    # Sent back unchanged with a PUT (as a client that read it would), the read-only list is ignored.
    level = owner_client.get(f"{LEVELS}{p1.pk}/").json()
    assert owner_client.put(f"{LEVELS}{p1.pk}/", level, format="json").status_code == 200
    assert CommsRule.objects.filter(severity=p1).count() == 4
