"""Acceptance for issue #5: paging survives `kill -9` of its processes, on PostgreSQL.

The data is written to the test database; the Procfile's real worker and engine run against that
same database as subprocesses and are crashed with SIGKILL to their whole process group. Every
notification is a webhook to an HttpReceiver in this process, which records each arrival with its
idempotency key (`X-IRP-Delivery`), so the counts below are what a receiver saw on the wire.

What the design promises (oncall/deliveries.py, incidents/services/escalation.py):
- a worker killed inside the HTTP call loses nothing: its lease runs out and the send is re-driven,
  so the receiver may see that one notification twice, under the same key;
- an engine killed inside a step loses nothing and repeats nothing: the step, its timeline entry
  and its deliveries commit together or not at all;
- any number of engines and workers side by side notify each person once per step.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from conftest import skip_or_fail
from incidents.models import EscalationRun, Incident, SeverityLevel, TimelineEntry
from incidents.tests.factories import make_person, make_policy, make_service
from irp_site.models import Heartbeat
from irp_site.testing.processes import IRPProcesses
from irp_site.testing.receivers import Answer, HttpReceiver, Received
from oncall.models import ContactMethod, Delivery, DeliveryAttempt

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only, pytest.mark.usefixtures("migrated_data")]

T = TypeVar("T")

ACK_WINDOW = timedelta(seconds=2)
# Short enough that the whole file runs in well under three minutes.
FAST = {
    "Q_WORKERS": "2",
    "Q_POLL": "0.05",
    "ENGINE_TICK_SECONDS": "0.1",
    "DELIVERY_LEASE_SECONDS": "3",
    "DELIVERY_REDISPATCH_SECONDS": "2",
    # Below the lease, as in production (10 s and 30 s): a live worker gives up before its lease ends.
    "DELIVERY_TIMEOUT_SECONDS": "2.5",
    "DELIVERY_RETRY_BASE_SECONDS": "0.5",
}
# Where no worker is crashed the lease only matters to a live worker that is slow (two busy
# cores); a re-drive then would be an allowed at-least-once repeat, not what these tests look for.
NO_WORKER_CRASH = {**FAST, "DELIVERY_LEASE_SECONDS": "10", "DELIVERY_TIMEOUT_SECONDS": "5"}
# A held request stays unanswered far longer than the test needs to crash the worker.
HOLD = Answer(delay=60)
# A transaction of the engine open this long, with rows written, is a batch of steps (a heartbeat
# or a dispatch is one or two statements and a few milliseconds).
BUSY_TRANSACTION_SECONDS = 0.02

# One expected notification: (incident id, step number, user id, contact method id).
Notification = tuple[int, int, int, int]


@pytest.fixture
def database_url() -> str:
    """The test database as a DATABASE_URL, so the subprocesses see the rows this test writes."""
    if connection.vendor != "postgresql":
        skip_or_fail("crash tests run the worker and engine beside the test process: they need PostgreSQL")
    db = connection.settings_dict
    auth = ""
    if db["USER"]:
        password = f":{quote(str(db['PASSWORD']), safe='')}" if db["PASSWORD"] else ""
        auth = f"{quote(str(db['USER']), safe='')}{password}@"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{auth}{db['HOST'] or ''}{port}/{quote(str(db['NAME']), safe='')}"


@pytest.fixture
def start_irp(database_url: str, tmp_path: Path) -> Iterator[Callable[[dict[str, str]], IRPProcesses]]:
    """IRPProcesses on the test database; all of them (and whatever they forked) end before the
    test database is flushed, since this fixture is torn down before `migrated_data`'s."""
    started: list[IRPProcesses] = []

    def start(env: dict[str, str]) -> IRPProcesses:
        irp = IRPProcesses(database_url, tmp_path / "run", env=env)
        started.append(irp)
        return irp

    yield start
    for irp in started:
        irp.stop(timeout=10)


# --- Set-up ----------------------------------------------------------------------------------------


@dataclass
class Paging:
    """A policy whose steps notify named people, each by one webhook of their own."""

    steps: list[list[User]]
    methods: dict[int, ContactMethod]
    service: Any

    def expected(self, incidents: list[Incident]) -> set[Notification]:
        return {
            (incident.pk, number, user.pk, self.methods[user.pk].pk)
            for incident in incidents
            for number, users in enumerate(self.steps, start=1)
            for user in users
        }


def set_up_paging(http: HttpReceiver, *steps: list[str]) -> Paging:
    SeverityLevel.objects.filter(name="P1").update(ack_window=ACK_WINDOW, escalation_depth=None)
    people = {
        name: make_person(name, methods={"webhook": http.url(f"/hooks/{name}")})
        for name in dict.fromkeys(name for step in steps for name in step)
    }
    policy = make_policy("Crash test", *({"users": [people[name] for name in step]} for step in steps))
    return Paging(
        steps=[[people[name] for name in step] for step in steps],
        methods={method.user_id: method for method in ContactMethod.objects.filter(user__in=people.values())},
        service=make_service("Checkout API", escalation_policy=policy),
    )


def open_incidents(paging: Paging, count: int) -> list[Incident]:
    """`count` P1 incidents that page now, as ingestion leaves them once the flap grace has passed."""
    now = timezone.now()
    p1 = SeverityLevel.objects.get(name="P1")
    return Incident.objects.bulk_create(
        Incident(
            title=f"Checkout is down ({number})",
            severity=p1,
            service=paging.service,
            dedup_key=f"crash-{number}",
            created_at=now,
            detected_at=now,
            last_alert_at=now,
            alert_count=1,
            pages_at=now,
        )
        for number in range(count)
    )


# --- Waiting and watching ------------------------------------------------------------------------


def wait_until(condition: Callable[[], T], timeout: float, failure: Callable[[], str]) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {failure()}")
        time.sleep(0.05)


def fresh_beats(kind: str, since: datetime) -> set[str]:
    return set(Heartbeat.objects.filter(kind=kind, beat_at__gte=since).values_list("instance", flat=True))


def wait_for_engine(irp: IRPProcesses, label: str, since: datetime, timeout: float = 30) -> None:
    pid = irp.processes[label].pid
    wait_until(
        lambda: any(instance.endswith(f":{pid}") for instance in fresh_beats(Heartbeat.Kind.ENGINE, since)),
        timeout,
        lambda: f"{label} (pid {pid}) wrote no heartbeat\n{log_tails(irp)}",
    )


def wait_for_workers(irp: IRPProcesses, count: int, since: datetime, timeout: float = 30) -> None:
    """Each django-q2 worker process beats on its own: a cluster is up when its workers beat."""
    wait_until(
        lambda: len(fresh_beats(Heartbeat.Kind.WORKER, since)) >= count,
        timeout,
        lambda: f"{len(fresh_beats(Heartbeat.Kind.WORKER, since))} of {count} worker processes beat\n{log_tails(irp)}",
    )


def log_tails(irp: IRPProcesses, lines: int = 25) -> str:
    return "\n".join(f"--- {name}.log\n" + "\n".join(text.splitlines()[-lines:]) for name, text in irp.logs().items())


def keys_of(received: list[Received]) -> Counter[str]:
    return Counter(request.headers.get("x-irp-delivery", "(no key)") for request in received)


def progress(http: HttpReceiver, expected: set[Notification], irp: IRPProcesses | None = None) -> str:
    keys = keys_of(http.received())
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("pk")))
    steps = dict(
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.ESCALATED)
        .values_list("data__step")
        .annotate(n=Count("pk"))
    )
    runs = EscalationRun.objects.count()
    active = EscalationRun.objects.filter(ended_at__isnull=True).count()
    text = (
        f"expected {len(expected)} notifications; arrived {sum(keys.values())} requests with "
        f"{len(keys)} distinct keys; deliveries by status {statuses}; escalated entries by step {steps}; "
        f"runs {runs} ({active} active)"
    )
    return f"{text}\n{log_tails(irp)}" if irp else text


def everything_delivered(expected: set[Notification], incidents: int) -> bool:
    return (
        Delivery.objects.filter(status=Delivery.Status.SENT).count() == len(expected)
        and not Delivery.objects.exclude(status=Delivery.Status.SENT).exists()
        and EscalationRun.objects.filter(ended_at__isnull=False).count() == incidents
        and not EscalationRun.objects.filter(ended_at__isnull=True).exists()
    )


def notifications_by_key(received: list[Received]) -> dict[str, Notification]:
    """What each distinct key that arrived was about, from its Delivery row; checked against the body."""
    keys = keys_of(received)
    rows = {row.key: row for row in Delivery.objects.filter(key__in=list(keys))}
    assert set(keys) == set(rows), f"keys that match no delivery: {sorted(set(keys) - set(rows))}"
    for request in received:
        row = rows[request.headers["x-irp-delivery"]]
        assert request.json["incident"]["id"] == row.message["context"]["incident_id"], request.json
        assert request.path == f"/hooks/{row.user.username}", (request.path, row.user.username)
    return {
        key: (row.message["context"]["incident_id"], row.message["context"]["step"], row.user_id, method)
        for key, row in rows.items()
        if (method := row.contact_method_id) is not None
    }


def assert_each_step_once(incidents: list[Incident], steps: int) -> None:
    """The timeline is the audit trail: each step once, and one end of the escalation, per incident."""
    entries: dict[int, list[int]] = {incident.pk: [] for incident in incidents}
    for incident_id, step in TimelineEntry.objects.filter(kind=TimelineEntry.Kind.ESCALATED).values_list(
        "incident_id", "data__step"
    ):
        entries[incident_id].append(step)
    each_once = list(range(1, steps + 1))
    wrong = {incident_id: sorted(seen) for incident_id, seen in entries.items() if sorted(seen) != each_once}
    assert not wrong, f"{len(wrong)} timelines do not show each step once, e.g. {dict(list(wrong.items())[:5])}"
    ended = Counter(
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.ESCALATION_ENDED).values_list("incident_id", flat=True)
    )
    assert all(ended[incident.pk] == 1 for incident in incidents), ended
    assert set(EscalationRun.objects.values_list("end_reason", flat=True)) == {EscalationRun.End.EXHAUSTED}


# --- Crashing the engine inside a transaction -------------------------------------------------------


def engine_write_transaction(label: str) -> dict[str, Any] | None:
    """The engine's transaction that has written rows and stayed open a while, if there is one now."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pid, xact_start, EXTRACT(EPOCH FROM now() - xact_start), state, left(query, 120)
            FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = %s
              AND backend_xid IS NOT NULL AND now() - xact_start > %s * interval '1 second'
            """,
            [f"irp-{label}", BUSY_TRANSACTION_SECONDS],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return {"backend": row[0], "xact_start": row[1], "open_seconds": float(row[2]), "state": row[3], "query": row[4]}


def crash_engine_mid_transaction(irp: IRPProcesses, label: str, timeout: float = 30) -> dict[str, Any]:
    """SIGKILL the engine while it holds a transaction of step work open, and prove it did.

    The engine's group is frozen (SIGSTOP) first, so the transaction seen open in
    pg_stat_activity is still open at the moment of the kill, not committed in between.
    """
    pgid = irp.processes[label].pid
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = engine_write_transaction(label)
        if seen is None:
            time.sleep(0.01)
            continue
        os.killpg(pgid, signal.SIGSTOP)
        still = engine_write_transaction(label)
        if still is not None and (still["backend"], still["xact_start"]) == (seen["backend"], seen["xact_start"]):
            irp.kill_process(label)
            return still
        os.killpg(pgid, signal.SIGCONT)
    raise AssertionError(f"{label} held no step transaction open {BUSY_TRANSACTION_SECONDS} s\n{log_tails(irp)}")


def wait_for_backend_gone(backend: int, timeout: float = 10) -> None:
    """PostgreSQL rolls the dead engine's transaction back when it notices the closed socket."""

    def gone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend])
            row = cursor.fetchone()
        return row is not None and row[0] == 0

    wait_until(gone, timeout, lambda: f"backend {backend} of the killed engine is still there")


def escalated_count(step: int) -> int:
    return TimelineEntry.objects.filter(kind=TimelineEntry.Kind.ESCALATED, data__step=step).count()


# --- The tests -------------------------------------------------------------------------------------


def test_a_worker_killed_inside_the_http_call_loses_no_notification(
    start_irp: Callable[[dict[str, str]], IRPProcesses], http: HttpReceiver
) -> None:
    paging = set_up_paging(http, ["alice", "bob"], ["carol"])
    paths = [f"/hooks/{name}" for name in ("alice", "bob", "carol")]
    for path in paths:
        http.respond(path, HOLD)
    irp = start_irp(FAST)
    since = timezone.now()
    irp.start_process("engine")
    irp.start_process("worker")
    wait_for_engine(irp, "engine", since)
    wait_for_workers(irp, 2, since)

    incidents = open_incidents(paging, 5)
    expected = paging.expected(incidents)
    workers = int(FAST["Q_WORKERS"])
    # Both worker processes inside requests.post (each may have several sends open at once, one per
    # sender thread), the receiver holding the requests unanswered.
    http.wait_for(workers, timeout=30)
    irp.kill_process("worker")
    in_flight = keys_of(http.received())
    assert len(in_flight) >= workers, in_flight
    assert set(in_flight.values()) == {1}, in_flight
    held = Delivery.objects.filter(key__in=list(in_flight))
    assert set(held.values_list("status", "attempts")) == {(Delivery.Status.SENDING, 1)}

    for path in paths:
        http.respond(path, Answer())
    restarted = timezone.now()
    irp.start_process("worker")
    wait_for_workers(irp, workers, restarted)
    wait_until(lambda: everything_delivered(expected, len(incidents)), 60, lambda: progress(http, expected, irp))

    received = http.received()
    keys = keys_of(received)
    by_key = notifications_by_key(received)
    deliveries = {row.key: row for row in Delivery.objects.prefetch_related("attempt_log")}
    duplicated = {key: n for key, n in keys.items() if n > 1}
    print(
        f"\nworker crash: {len(expected)} expected, {sum(keys.values())} arrived, {len(keys)} distinct keys, "
        f"duplicates {duplicated}, attempts of the interrupted "
        f"{ {key: deliveries[key].attempts for key in in_flight} }, "
        f"attempts overall {dict(Counter(row.attempts for row in deliveries.values()))}"
    )
    # Every expected notification arrived, and exactly one key stands for each.
    assert len(keys) == len(expected), progress(http, expected)
    assert sorted(by_key.values()) == sorted(expected)
    # Repeats only where a send was cut off: the interrupted ones, each sent once more after its lease.
    assert set(duplicated) == set(in_flight), (duplicated, in_flight)
    assert all(n == 2 for n in duplicated.values()), duplicated
    for key, row in deliveries.items():
        assert row.status == Delivery.Status.SENT
        assert keys[key] <= row.attempts, f"{key} arrived {keys[key]} times in {row.attempts} attempts"
        if key in in_flight:
            # The killed attempt left no record; the re-driven one is attempt 2, and it succeeded.
            assert row.attempts >= 2
            assert [(a.number, a.outcome) for a in row.attempt_log.all()] == [
                (row.attempts, DeliveryAttempt.Outcome.SENT)
            ]
        else:
            # Sent once. A delivery the killed worker had claimed but not yet sent is sent by the
            # re-drive (attempt 2) and arrives once all the same.
            assert keys[key] == 1
            assert [a.outcome for a in row.attempt_log.all()][-1:] == [DeliveryAttempt.Outcome.SENT]
    assert_each_step_once(incidents, steps=2)


def test_an_engine_killed_inside_a_step_sends_every_notification_exactly_once(
    start_irp: Callable[[dict[str, str]], IRPProcesses], http: HttpReceiver
) -> None:
    paging = set_up_paging(http, ["alice"], ["bob"])
    irp = start_irp(NO_WORKER_CRASH)
    since = timezone.now()
    irp.start_process("worker")
    wait_for_workers(irp, 2, since)
    # Due before the engine starts, so its first ticks have a few seconds of steps to write.
    incidents = open_incidents(paging, 200)
    expected = paging.expected(incidents)
    irp.start_process("engine")

    crashes = []
    for step in (1, 2):
        crash = crash_engine_mid_transaction(irp, "engine")
        crash["committed"] = {s: escalated_count(s) for s in (1, 2)}
        crashes.append(crash)
        wait_for_backend_gone(crash["backend"])
        restarted = timezone.now()
        irp.start_process("engine")
        wait_for_engine(irp, "engine", restarted)
        if step == 1:
            # Crash it again once every first step is in: what it works on then is second steps.
            wait_until(lambda: escalated_count(1) == len(incidents), 60, lambda: progress(http, expected, irp))
    wait_until(lambda: everything_delivered(expected, len(incidents)), 90, lambda: progress(http, expected, irp))

    received = http.received()
    keys = keys_of(received)
    by_key = notifications_by_key(received)
    print(
        f"\nengine crash: {len(expected)} expected, {len(received)} arrived, {len(keys)} distinct keys; "
        f"killed inside transactions {crashes}"
    )
    assert len(received) == len(keys) == len(expected), progress(http, expected)
    assert sorted(by_key.values()) == sorted(expected)
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Delivery.Status.SENT, 1)}
    assert EscalationRun.objects.count() == len(incidents)
    assert_each_step_once(incidents, steps=2)


def test_two_engines_and_two_workers_notify_each_person_once_per_step(
    start_irp: Callable[[dict[str, str]], IRPProcesses], http: HttpReceiver
) -> None:
    paging = set_up_paging(http, ["alice"], ["bob"])
    irp = start_irp(NO_WORKER_CRASH)
    since = timezone.now()
    for label in ("engine", "engine-2"):
        irp.start_process("engine", label=label)
    for label in ("worker", "worker-2"):
        irp.start_process("worker", label=label)
    for label in ("engine", "engine-2"):
        wait_for_engine(irp, label, since)
    wait_for_workers(irp, 4, since)

    incidents = open_incidents(paging, 200)
    expected = paging.expected(incidents)
    assert len(expected) == 400
    wait_until(lambda: everything_delivered(expected, len(incidents)), 90, lambda: progress(http, expected, irp))

    received = http.received()
    keys = keys_of(received)
    by_key = notifications_by_key(received)
    print(f"\ntwo of each: {len(expected)} expected, {len(received)} arrived, {len(keys)} distinct keys")
    assert len(received) == len(keys) == len(expected) == 400, progress(http, expected)
    assert sorted(by_key.values()) == sorted(expected)
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Delivery.Status.SENT, 1)}
    assert EscalationRun.objects.count() == len(incidents)
    assert_each_step_once(incidents, steps=2)
    # Both engines and both clusters were alive throughout.
    assert all(irp.processes[label].poll() is None for label in ("engine", "engine-2", "worker", "worker-2"))
