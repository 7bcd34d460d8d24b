"""The auditor: due work more than 30 s late is reported by /healthz, the admin and the log."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from incidents.models import EscalationRun, Incident, SeverityLevel
from incidents.tests.factories import make_service
from irp_site import auditor
from irp_site.auditor import audit_tick
from irp_site.models import Heartbeat
from irp_site.services import heartbeat_record
from oncall.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def live_processes() -> None:
    heartbeat_record(Heartbeat.Kind.WORKER, instance="host:1")
    heartbeat_record(Heartbeat.Kind.ENGINE, instance="host:2")


def make_run(due_seconds_ago: float) -> EscalationRun:
    incident = Incident.objects.create(
        title="Checkout down", severity=SeverityLevel.objects.get(name="P1"), service=make_service()
    )
    return EscalationRun.objects.create(
        incident=incident,
        ack_window=timedelta(minutes=5),
        next_action_at=timezone.now() - timedelta(seconds=due_seconds_ago),
    )


def test_work_due_a_few_seconds_ago_is_fine(client: Client) -> None:
    make_run(due_seconds_ago=5)

    body = client.get("/healthz").json()

    assert body["status"] == "ok"
    assert body["checks"]["due_work"] == {"ok": True, "overdue_seconds": {}}


def test_a_step_more_than_30_s_overdue_makes_healthz_degraded(client: Client) -> None:
    make_run(due_seconds_ago=45)

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["failing"] == ["due_work"]
    assert 44 <= body["checks"]["due_work"]["overdue_seconds"]["escalation steps"] < 60
    assert "escalation steps 45 s overdue" in body["checks"]["due_work"]["message"]


def test_an_overdue_delivery_and_a_waiting_page_count_too(client: Client) -> None:
    user = User.objects.create_user("alice")
    Delivery.objects.create(
        key="k",
        page_key="p",
        subject="incident:1",
        user=user,
        channel="email",
        address="a@example.com",
        urgency="high",
        due_at=timezone.now() - timedelta(minutes=2),
    )
    incident = make_run(due_seconds_ago=0).incident
    Incident.objects.filter(pk=incident.pk).update(pages_at=timezone.now() - timedelta(minutes=1))

    late = client.get("/healthz").json()["checks"]["due_work"]["overdue_seconds"]

    assert set(late) == {"deliveries", "incidents waiting to page"}


def test_the_admin_shows_a_banner_and_the_engine_logs(plan_owner: User, caplog: pytest.LogCaptureFixture) -> None:
    make_run(due_seconds_ago=120)
    client = Client()
    client.force_login(plan_owner)

    page = client.get("/admin/").content.decode()

    assert "Paging is behind: escalation steps 120 s overdue" in page
    auditor._last_logged.clear()
    with caplog.at_level(logging.ERROR, logger="irp_site.auditor"):
        audit_tick(timezone.now())
    assert "escalation steps is 120 s overdue" in caplog.text


def test_no_banner_when_nothing_is_late(plan_owner: User) -> None:
    client = Client()
    client.force_login(plan_owner)

    assert "Paging is behind" not in client.get("/admin/").content.decode()
