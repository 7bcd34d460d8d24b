"""The status page's set-up and publishing through /api/v1/, with the same rules as the pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from incidents.models.status import Component, PublicIncident, ScheduledMaintenance
from incidents.tests.status_builders import make_component, make_incident

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("status_cache_cleared")]


def test_a_plan_owner_sets_up_components_and_the_page_shows_them_at_once(
    client: Client, api_client_for: Callable[[User], APIClient], plan_owner: User
) -> None:
    api = api_client_for(plan_owner)
    assert "Checkout" not in client.get("/status/").content.decode()
    group = api.post("/api/v1/status-component-groups/", {"name": "Payments"}).json()
    created = api.post(
        "/api/v1/status-components/", {"name": "Checkout", "group": group["id"], "hand_status": "partial_outage"}
    )
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "partial_outage"
    page = client.get("/status/").content.decode()
    assert "Checkout" in page
    assert "banner-major" in page


def test_responders_may_not_change_the_set_up(api_client_for: Callable[[User], APIClient], responder: User) -> None:
    response = api_client_for(responder).post("/api/v1/status-components/", {"name": "Checkout"})
    assert response.status_code == 403


def test_a_responder_publishes_and_updates_through_the_api(
    api_client_for: Callable[[User], APIClient], responder: User
) -> None:
    api = api_client_for(responder)
    incident = make_incident()
    checkout = make_component("Checkout", services=[incident.service])
    response = api.post(
        "/api/v1/public-incidents/",
        {
            "incident": incident.pk,
            "name": "Checkout errors",
            "body": "Investigating.",
            "impact": "major",
            "components": [{"component": checkout.pk, "status": "major_outage"}],
        },
    )
    assert response.status_code == 201, response.json()
    public_id = response.json()["id"]
    checkout.refresh_from_db()
    assert checkout.status == "major_outage"
    update = api.post(f"/api/v1/public-incidents/{public_id}/updates/", {"status": "resolved", "body": "Fixed."})
    assert update.status_code == 201, update.json()
    assert PublicIncident.objects.get().status == "resolved"
    again = api.post(f"/api/v1/public-incidents/{public_id}/updates/", {"status": "monitoring", "body": "Hm."})
    assert again.status_code == 400
    assert "status" in again.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "body": "x"}, "name"),
        ({"name": "x", "body": ""}, "body"),
        ({"name": "x", "body": "x", "status": "exploded"}, "status"),
        ({"name": "x", "body": "x", "impact": "huge"}, "impact"),
        ({"name": "x", "body": "x", "status": "resolved"}, "status"),
        ({"name": "x", "body": "x", "components": [{"component": 999999, "status": "major_outage"}]}, "components"),
    ],
)
def test_bad_input_answers_400_naming_the_field(
    api_client_for: Callable[[User], APIClient], responder: User, body: dict[str, object], field: str
) -> None:
    incident = make_incident()
    response = api_client_for(responder).post("/api/v1/public-incidents/", {"incident": incident.pk, **body})
    assert response.status_code == 400
    assert field in response.json()
    assert not PublicIncident.objects.exists()


def test_a_drill_cannot_be_published_through_the_api(
    api_client_for: Callable[[User], APIClient], responder: User
) -> None:
    drill = make_incident(is_drill=True)
    response = api_client_for(responder).post(
        "/api/v1/public-incidents/", {"incident": drill.pk, "name": "x", "body": "y"}
    )
    assert response.status_code == 400
    assert "drill" in str(response.json())


def test_maintenance_through_the_api_opens_its_window_and_moves(
    api_client_for: Callable[[User], APIClient], responder: User
) -> None:
    api = api_client_for(responder)
    incident = make_incident()
    search = make_component("Search", services=[incident.service])
    start = timezone.now() + timedelta(hours=1)
    bad = api.post(
        "/api/v1/scheduled-maintenances/",
        {"name": "Reindex", "scheduled_for": start.isoformat(), "scheduled_until": start.isoformat()},
    )
    assert bad.status_code == 400
    assert "scheduled_until" in bad.json()
    created = api.post(
        "/api/v1/scheduled-maintenances/",
        {
            "name": "Reindex",
            "body": "Search may be stale.",
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(),
            "components": [search.pk],
        },
    )
    assert created.status_code == 201, created.json()
    maintenance = ScheduledMaintenance.objects.get()
    assert maintenance.maintenance_window is not None
    assert list(maintenance.maintenance_window.services.all()) == [incident.service]
    moved = api.post(f"/api/v1/scheduled-maintenances/{maintenance.pk}/move/", {"status": "in_progress"})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["status"] == "in_progress"
    assert Component.objects.get().status == "under_maintenance"
    wrong = api.post(f"/api/v1/scheduled-maintenances/{maintenance.pk}/move/", {"status": "scheduled"})
    assert wrong.status_code == 400
    assert "status" in wrong.json()


def test_withdrawing_a_maintenance_in_progress_clears_the_page_and_its_window(
    api_client_for: Callable[[User], APIClient], responder: User, client: Client
) -> None:
    from incidents.models import MaintenanceWindow

    api = api_client_for(responder)
    search = make_component("Search", services=[make_incident().service])
    start = timezone.now() + timedelta(hours=1)
    body = {
        "name": "Reindex",
        "body": "Search may be stale.",
        "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=1)).isoformat(),
        "components": [search.pk],
    }
    maintenance_id = api.post("/api/v1/scheduled-maintenances/", body).json()["id"]
    api.post(f"/api/v1/scheduled-maintenances/{maintenance_id}/move/", {"status": "in_progress"})
    page = client.get("/status/")
    assert "Reindex" in page.content.decode()
    etag = page["ETag"]

    assert api.delete(f"/api/v1/scheduled-maintenances/{maintenance_id}/").status_code == 204

    assert Component.objects.get().status == "operational"
    assert not MaintenanceWindow.objects.exists()  # paging is no longer muted
    assert client.get("/status/", HTTP_IF_NONE_MATCH=etag).status_code == 200  # not a stale 304
    assert "Reindex" not in client.get("/status/").content.decode()


def test_maintenance_times_are_read_in_the_viewers_time_zone(client: Client, responder: User) -> None:
    from oncall.models import Profile

    Profile.objects.update_or_create(user=responder, defaults={"time_zone": "Europe/Berlin"})
    client.force_login(responder)
    form = client.get("/status/manage/maintenance/new/").content.decode()
    assert "Starts (Europe/Berlin)" in form
    response = client.post(
        "/status/manage/maintenance/new/",
        {
            "name": "Upgrade",
            "body": "Brief.",
            "scheduled_for": "2030-01-10T02:00",
            "scheduled_until": "2030-01-10T03:00",
        },
    )
    assert response.status_code == 302
    maintenance = ScheduledMaintenance.objects.get()
    assert maintenance.scheduled_for.astimezone(UTC).hour == 1  # 02:00 in Berlin in winter
