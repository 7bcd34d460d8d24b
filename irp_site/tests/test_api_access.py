"""Who may read and write the plan through the REST API."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from incidents.models import SeverityLevel

pytestmark = pytest.mark.django_db

NEW_LEVEL = {
    "name": "P5",
    "title": "Informational",
    "rank": 5,
    "impact_criteria": "Nobody is affected",
    "pages_responders": False,
    "resolution_target_kind": "scheduled_sprint",
}


def test_no_token_gets_401_with_a_bearer_challenge() -> None:
    response = APIClient().get("/api/v1/severity-levels/")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_unknown_or_revoked_token_gets_401(plan_owner: User, api_client_for: Callable[[User], APIClient]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer irp_not-a-real-token")
    assert client.get("/api/v1/severity-levels/").status_code == 401

    client = api_client_for(plan_owner)
    plan_owner.api_tokens.update(revoked_at="2026-01-01T00:00:00Z")
    assert client.get("/api/v1/severity-levels/").status_code == 401


def test_a_token_authenticates_and_lists_are_paginated(
    stakeholder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    response = api_client_for(stakeholder).get("/api/v1/severity-levels/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"count", "next", "previous", "results"}
    assert [level["name"] for level in body["results"]] == ["P1", "P2", "P3", "P4"]
    assert body["results"][0]["ack_window_seconds"] == 300


def test_a_responder_cannot_write_a_severity_level(
    responder: User, api_client_for: Callable[[User], APIClient]
) -> None:
    client = api_client_for(responder)
    p1 = SeverityLevel.objects.get(name="P1")

    assert client.post("/api/v1/severity-levels/", NEW_LEVEL).status_code == 403
    assert client.patch(f"/api/v1/severity-levels/{p1.pk}/", {"ack_window_seconds": 60}).status_code == 403
    assert client.delete(f"/api/v1/severity-levels/{p1.pk}/").status_code == 403
    p1.refresh_from_db()
    assert p1.ack_window is not None
    assert p1.ack_window.total_seconds() == 300
    assert not SeverityLevel.objects.filter(name="P5").exists()


def test_a_stakeholder_reads_but_cannot_write(stakeholder: User, api_client_for: Callable[[User], APIClient]) -> None:
    client = api_client_for(stakeholder)

    assert client.get("/api/v1/roles/").status_code == 200
    assert client.post("/api/v1/teams/", {"name": "Rogue"}).status_code == 403


def test_someone_in_no_group_sees_nothing(outsider: User, api_client_for: Callable[[User], APIClient]) -> None:
    client = api_client_for(outsider)

    for path in ("/api/v1/", "/api/v1/severity-levels/", "/api/v1/teams/", "/api/v1/plan/"):
        assert client.get(path).status_code == 403, path


def test_a_plan_owner_writes_the_plan(plan_owner: User, api_client_for: Callable[[User], APIClient]) -> None:
    client = api_client_for(plan_owner)

    created = client.post("/api/v1/severity-levels/", NEW_LEVEL)
    assert created.status_code == 201, created.json()
    p1 = SeverityLevel.objects.get(name="P1")
    changed = client.patch(f"/api/v1/severity-levels/{p1.pk}/", {"ack_window_seconds": 240})
    assert changed.status_code == 200
    team = client.post("/api/v1/teams/", {"name": "Data", "manager": plan_owner.pk, "members": [plan_owner.pk]})
    assert team.status_code == 201
    service = client.post("/api/v1/services/", {"name": "Warehouse", "owner_team": team.json()["id"]})
    assert service.status_code == 201
    role = client.post(
        "/api/v1/roles/",
        {
            "key": "scribe",
            "name": "Scribe",
            "summary": "Keeps notes.",
            "responsibilities": "Writes.",
            "required_for": ["P1"],
        },
    )
    assert role.status_code == 201, role.json()
    plan = client.patch("/api/v1/plan/", {"organisation_name": "Globex", "review_interval_days": 30})
    assert plan.status_code == 200

    p1.refresh_from_db()
    assert p1.ack_window is not None
    assert p1.ack_window.total_seconds() == 240
    assert SeverityLevel.objects.get(name="P5").title == "Informational"
    assert client.get("/api/v1/plan/").json()["organisation_name"] == "Globex"


def test_deleting_a_team_that_still_owns_services_is_a_conflict_not_a_crash(
    plan_owner: User, api_client_for: Callable[[User], APIClient]
) -> None:
    client = api_client_for(plan_owner)
    team = client.post("/api/v1/teams/", {"name": "Data"}).json()
    client.post("/api/v1/services/", {"name": "Warehouse", "owner_team": team["id"]})

    response = client.delete(f"/api/v1/teams/{team['id']}/")

    assert response.status_code == 409
    assert "Warehouse" in response.json()["detail"]
