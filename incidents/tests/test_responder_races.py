"""Responders acting on one incident at the same moment, on PostgreSQL's concurrent writers: every
action either happens once, with its timeline entry, or is refused with a reason — never a
deadlock, a duplicate or a 500."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from conftest import skip_or_fail
from incidents.models import EscalationRun, Incident, IncidentRole, Role, SeverityLevel, TimelineEntry
from incidents.services.declaring import incident_declare
from incidents.services.errors import InvalidInput
from incidents.services.escalation import start_due
from incidents.services.lifecycle import incident_resolve
from incidents.services.responding import ActionRefused, incident_merge
from incidents.services.roles import role_assign, role_holders
from incidents.services.severity import incident_severity_change
from incidents.services.timeline import timeline_add
from incidents.tests.factories import make_person, make_policy, make_service
from irp_site.testing.concurrency import at_once
from oncall import deliveries

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("migrated_data")]


@pytest.fixture(autouse=True)
def _postgres_only(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        skip_or_fail("these races need PostgreSQL's concurrent writers (SQLite serialises them)")
    # Pages are written but not sent: what matters here is what the database holds.
    monkeypatch.setattr(deliveries, "enqueue", lambda ids: None)


def level(name: str) -> SeverityLevel:
    return SeverityLevel.objects.get(name=name)


def declare(severity: str = "P3", title: str = "Checkout is slow") -> Incident:
    alice = User.objects.filter(username="alice").first() or make_person("alice", methods={"email": "a@example.com"})
    policy = make_policy(f"On-call {Incident.objects.count()}", {"users": [alice]}, {"users": [alice]})
    service = make_service(f"Service {Incident.objects.count()}", escalation_policy=policy)
    return incident_declare(service=service, severity=level(severity), title=title, started_at=None, actor=None)


def wait_until_a_session_waits_for_a_lock() -> None:
    with connection.cursor() as cursor:
        for _ in range(500):
            # Statistics views are cached for the rest of a transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            threading.Event().wait(0.02)
    pytest.fail("the severity change never waited for the engine's lock on the run")


def test_many_people_assigning_the_commander_at_once_leaves_one_current_holder() -> None:
    incident = declare()
    commander = Role.objects.get(key="incident-commander")
    people = [make_person(f"person{index}") for index in range(6)]

    results = at_once(
        *[lambda person=person: role_assign(incident, commander, person, actor=person) for person in people]
    )

    assert [result for result in results if isinstance(result, Exception)] == []
    assert len(role_holders(incident)["incident-commander"]) == 1
    turns = IncidentRole.objects.filter(incident=incident)
    assert turns.count() == 6
    assert turns.filter(ended_at__isnull=True).count() == 1
    # One timeline entry per hand-over, each naming whom it replaced (all but the first).
    messages = list(incident.timeline.filter(kind="role_assigned").values_list("message", flat=True))
    assert len(messages) == 6
    assert sum("(was " in message for message in messages) == 5


def test_crossing_merges_at_once_merge_one_way_and_refuse_the_other() -> None:
    first, second = declare(title="Checkout 502"), declare(title="Payments 5xx")

    results = at_once(
        lambda: incident_merge(first, second, actor=None), lambda: incident_merge(second, first, actor=None)
    )

    merged = [result for result in results if isinstance(result, Incident)]
    refused = [result for result in results if isinstance(result, Exception)]
    assert len(merged) == 1
    assert len(refused) == 1
    assert isinstance(refused[0], InvalidInput), refused
    assert refused[0].field == "target"
    statuses = sorted(Incident.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == ["resolved", "triggered"]
    assert TimelineEntry.objects.filter(kind="merged").count() == 2


def test_the_same_merge_twice_at_once_happens_once() -> None:
    source, target = declare(title="Checkout 502"), declare(title="Payments 5xx")

    results = at_once(*[lambda: incident_merge(source, target, actor=None)] * 2)

    assert sum(isinstance(result, Incident) for result in results) == 1
    assert sum(isinstance(result, ActionRefused) for result in results) == 1, results
    assert source.timeline.filter(kind="merged").count() == 1
    assert source.timeline.filter(kind="resolved").count() == 1
    assert target.timeline.filter(kind="merged").count() == 1


def test_a_severity_change_racing_a_resolve_never_pages_a_resolved_incident() -> None:
    for _ in range(5):
        incident = declare(severity="P4")  # pages nobody: the upgrade to P2 would start paging
        actor = make_person(f"resolver{incident.pk}")

        # Each process loads the incident itself, as two requests would.
        def change(pk: int = incident.pk, actor: User = actor) -> bool:
            return incident_severity_change(
                Incident.objects.get(pk=pk), level("P2"), reason="Every refund fails", actor=actor
            )

        def resolve(pk: int = incident.pk, actor: User = actor) -> bool:
            return incident_resolve(Incident.objects.get(pk=pk), actor=actor, note="Fixed")

        results = at_once(change, resolve)

        assert results == [True, True]
        incident.refresh_from_db()
        assert (incident.status, incident.severity.name, incident.pages_at) == ("resolved", "P2", None)
        assert start_due(timezone.now() + timedelta(hours=1)) == 0
        assert not EscalationRun.objects.filter(incident=incident).exists()
        assert incident.timeline.filter(kind="severity_changed").count() == 1
        assert incident.timeline.filter(kind="resolved").count() == 1


def test_a_severity_change_while_the_engine_fires_the_step_does_not_deadlock() -> None:
    incident = declare(severity="P3")
    responder = make_person("rui")
    assert start_due(timezone.now()) == 1
    run = EscalationRun.objects.get(incident=incident)
    engine_holds_the_run = threading.Event()

    def engine() -> None:
        # What advance_due does when a step falls due: lock the run, then write the incident's
        # timeline (the insert's foreign key check takes a KEY SHARE lock on the incident row).
        with transaction.atomic():
            list(EscalationRun.objects.select_for_update(of=("self",)).filter(pk=run.pk))
            engine_holds_the_run.set()
            wait_until_a_session_waits_for_a_lock()
            timeline_add(incident, TimelineEntry.Kind.ESCALATED, "Step 2 of 2: notifying Alice.", actor_label="IRP")

    def change() -> bool:
        engine_holds_the_run.wait()
        return incident_severity_change(incident, level("P1"), reason="Every customer", actor=responder)

    results = at_once(engine, change)

    assert results == [None, True]
    run.refresh_from_db()
    assert run.ack_window == timedelta(minutes=5)
    assert incident.timeline.filter(kind="escalated", message__startswith="Step 2").count() == 1


def test_a_responder_acting_on_one_incident_does_not_hold_up_new_incidents_of_its_service() -> None:
    busy = declare(severity="P2")
    holding = threading.Event()
    done = threading.Event()

    def act() -> None:
        # What escalate, reassign and add-responders hold while they page people.
        with transaction.atomic():
            Incident.objects.select_related("service", "severity").lock_for_change([busy.pk])
            holding.set()
            done.wait(30)
        connection.close()

    worker = threading.Thread(target=act)
    worker.start()
    try:
        assert holding.wait(30)
        with transaction.atomic(), connection.cursor() as cursor:
            # Fails at once, instead of waiting, if the service or severity row is locked.
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            other = incident_declare(
                service=busy.service, severity=busy.severity, title="Second problem", started_at=None, actor=None
            )
    finally:
        done.set()
        worker.join()
    assert other.service_id == busy.service_id
