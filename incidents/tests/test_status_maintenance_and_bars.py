"""Scheduled maintenance moves by itself and holds paging; the 90-day bars are computed in the background."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.models import MaintenanceWindow
from incidents.models.status import Component, ScheduledMaintenance, StatusPage
from incidents.services.statuspage import (
    PublishRefused,
    maintenance_schedule,
    maintenance_transition,
    public_incident_publish,
    public_incident_update,
)
from incidents.status_tasks import BAR_DAYS, uptime_bars_claim
from incidents.tests.status_builders import make_component, make_incident, run_queued_jobs
from irp_site import auditor, engine

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("status_cache_cleared")]


def test_maintenance_opens_a_window_that_holds_paging_for_the_components_services(responder: User) -> None:
    incident = make_incident()
    search = make_component("Search", services=[incident.service])
    start = timezone.now() + timedelta(hours=1)
    maintenance = maintenance_schedule(
        actor=responder,
        name="Reindex",
        body="Search may be stale.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=2),
        components=[search],
    )
    window = maintenance.maintenance_window
    assert window is not None
    assert (window.starts_at, window.ends_at) == (start, start + timedelta(hours=2))
    assert list(window.services.all()) == [incident.service]
    assert list(MaintenanceWindow.objects.active_at(start + timedelta(minutes=1))) == [window]


def test_maintenance_starts_and_completes_by_itself_on_the_engine_tick(client: Client, responder: User) -> None:
    search = make_component("Search")
    start = timezone.now() + timedelta(minutes=10)
    maintenance = maintenance_schedule(
        actor=responder,
        name="Reindex",
        body="Search may be stale.",
        scheduled_for=start,
        scheduled_until=start + timedelta(hours=1),
        components=[search],
    )
    assert "Reindex" in client.get("/status/").content.decode().split("Scheduled maintenance")[1]

    engine.tick(start - timedelta(seconds=1), beat=False)
    maintenance.refresh_from_db()
    assert maintenance.status == ScheduledMaintenance.Status.SCHEDULED

    engine.tick(start + timedelta(seconds=1), beat=False)
    maintenance.refresh_from_db()
    search.refresh_from_db()
    assert maintenance.status == ScheduledMaintenance.Status.IN_PROGRESS
    assert search.status == "under_maintenance"
    page = client.get("/status/").content.decode()
    assert "banner-maintenance" in page
    assert "The scheduled maintenance is in progress." in page

    engine.tick(start + timedelta(hours=1, seconds=1), beat=False)
    maintenance.refresh_from_db()
    search.refresh_from_db()
    assert maintenance.status == ScheduledMaintenance.Status.COMPLETED
    assert search.status == "operational"
    assert list(maintenance.updates.values_list("status", flat=True)) == ["completed", "in_progress", "scheduled"]
    assert "banner-none" in client.get("/status/").content.decode()


def test_finishing_early_ends_the_window_so_paging_returns(responder: User) -> None:
    search = make_component("Search")
    now = timezone.now()
    maintenance = maintenance_schedule(
        actor=responder,
        name="Reindex",
        body="Stale results.",
        scheduled_for=now - timedelta(minutes=1),
        scheduled_until=now + timedelta(hours=1),
        components=[search],
    )
    maintenance_transition(maintenance, ScheduledMaintenance.Status.IN_PROGRESS, at=now)
    maintenance_transition(maintenance, ScheduledMaintenance.Status.COMPLETED, actor=responder, at=now)
    assert maintenance.maintenance_window is not None
    window = MaintenanceWindow.objects.get(pk=maintenance.maintenance_window.pk)
    assert window.ends_at == now
    with pytest.raises(PublishRefused):
        maintenance_transition(maintenance, ScheduledMaintenance.Status.IN_PROGRESS)


def test_maintenance_must_end_after_it_starts(responder: User) -> None:
    now = timezone.now()
    with pytest.raises(PublishRefused) as refusal:
        maintenance_schedule(
            actor=responder, name="Oops", body="x", scheduled_for=now, scheduled_until=now, components=[]
        )
    assert refusal.value.field == "scheduled_until"


def test_the_90_day_bars_are_computed_by_a_job_not_by_the_page(
    client: Client, responder: User, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    now = timezone.now()
    checkout = make_component("Checkout")
    search = make_component("Search")
    old = public_incident_publish(
        make_incident(),
        actor=responder,
        name="Checkout errors last week",
        body="Looking.",
        components={checkout: "major_outage"},
        at=now - timedelta(days=7),
    )
    public_incident_update(old, actor=responder, status="resolved", body="Fixed.", at=now - timedelta(days=7))
    public_incident_publish(
        make_incident(), actor=responder, name="Checkout slow", body="Looking.", components={checkout: "partial_outage"}
    )
    client.get("/status/")
    checkout.refresh_from_db()
    assert checkout.uptime_days == []  # the page computed nothing

    with django_capture_on_commit_callbacks(execute=True):
        assert uptime_bars_claim(now)
    # Claimed once: another engine (or the next tick) finds nothing to do.
    assert not uptime_bars_claim(now + timedelta(seconds=1))
    assert run_queued_jobs() == 1

    checkout.refresh_from_db()
    search.refresh_from_db()
    days = {day["date"]: day for day in checkout.uptime_days}
    assert len(checkout.uptime_days) == BAR_DAYS
    today = now.astimezone(UTC).date()
    week_ago = (now - timedelta(days=7)).astimezone(UTC).date().isoformat()
    assert days[today.isoformat()]["status"] == "partial_outage"
    assert days[today.isoformat()]["incidents"] == ["Checkout slow"]
    assert days[week_ago]["status"] == "major_outage"
    assert days[week_ago]["incidents"] == ["Checkout errors last week"]
    # Components created today have no data for the days before.
    assert [day["status"] for day in search.uptime_days][-2:] == ["none", "operational"]
    page = client.get("/status/").content.decode()
    assert page.count('class="bar status-') == 2 * BAR_DAYS
    assert f'<span class="tip">{today.isoformat()}<br>Checkout slow</span>' in page

    # Due again at the next midnight, unless something is published before.
    due = StatusPage.objects.current().bars_due_at
    assert due == datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def test_a_hand_set_status_shows_when_no_incident_says_worse(client: Client, plan_owner: User) -> None:
    client.force_login(plan_owner)
    checkout = make_component("Checkout")
    response = client.post(
        f"/admin/incidents/component/{checkout.pk}/change/",
        {
            "name": "Checkout",
            "description": "",
            "group": "",
            "position": 0,
            "hand_status": "degraded_performance",
            "showcase": "on",
            "start_date": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    checkout.refresh_from_db()
    assert checkout.status == "degraded_performance"
    client.logout()
    assert "banner-minor" in client.get("/status/").content.decode()
    assert Component.objects.get().status == "degraded_performance"


def test_the_auditor_reports_maintenance_the_engine_failed_to_move(responder: User, settings: Any) -> None:
    now = timezone.now()
    maintenance_schedule(
        actor=responder,
        name="Reindex",
        body="Stale results.",
        scheduled_for=now - timedelta(seconds=settings.OVERDUE_ALARM_SECONDS + 30),
        scheduled_until=now + timedelta(hours=1),
        components=[],
    )
    assert "status page maintenance moves" in auditor.overdue_work(now)
    engine.tick(now, beat=False)
    assert "status page maintenance moves" not in auditor.overdue_work(now)


def test_a_bars_job_lost_with_its_worker_is_handed_out_again(
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert uptime_bars_claim(now)
    run_queued_jobs()  # the job ran: nothing due until midnight
    StatusPage.objects.update(bars_due_at=None, bars_claimed_at=now)  # claimed, then the worker died
    assert not uptime_bars_claim(now + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert uptime_bars_claim(now + timedelta(minutes=6))
    assert run_queued_jobs() == 1
