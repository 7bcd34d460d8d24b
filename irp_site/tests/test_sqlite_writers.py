"""Acceptance: web, worker and engine share one SQLite file under 20 parallel API writers.

Nothing is mocked: the Procfile's three processes run against a fresh SQLite file while 20
threads create teams and services and edit services through the real API for IRP_SOAK_SECONDS
(default 30). The worker and engine write their heartbeats every second throughout, so they
compete for the write lock too.
"""

from __future__ import annotations

import os
import re
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from irp_site.testing.processes import IRPProcesses, running_irp

WRITERS = 20
SOAK_SECONDS = float(os.environ.get("IRP_SOAK_SECONDS", "30"))
# Far below what two cores manage (hundreds a second); it only proves the writers were not idle.
MIN_WRITES_PER_SECOND = 10
PLAN_OWNER = "soak-owner"
# The errors a lock timeout, a crashed request or a dying worker would leave in a log.
LOG_PROBLEMS = re.compile(r"database is locked|Traceback|\bERROR\b|\bCRITICAL\b")


@dataclass
class Outcome:
    method: str
    path: str
    status: int | None
    seconds: float
    body: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Expected:
    """What the database must hold afterwards, according to the API's own answers."""

    teams: dict[str, int] = field(default_factory=dict)
    # name: (id, owner team id, description, in scope)
    services: dict[str, tuple[int, int, str, bool]] = field(default_factory=dict)


def _call(session: requests.Session, method: str, url: str, payload: dict[str, Any]) -> Outcome:
    path = url.split("/", 3)[-1]
    started = time.monotonic()
    try:
        # Longer than SQLite's 30 s busy timeout, so a lock wait shows up as the server's error.
        response = session.request(method, url, json=payload, timeout=60)
    except requests.RequestException as error:
        return Outcome(method, path, None, time.monotonic() - started, error=repr(error))
    seconds = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text[:500]}
    return Outcome(method, path, response.status_code, seconds, body=body)


def _writer(
    number: int, base_url: str, token: str, start: threading.Barrier, stopping: threading.Event
) -> tuple[list[Outcome], Expected]:
    outcomes: list[Outcome] = []
    expected = Expected()
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        start.wait()
        stop_at = time.monotonic() + SOAK_SECONDS
        round_ = 0
        while time.monotonic() < stop_at and not stopping.is_set():
            team_name = f"soak-team-{number}-{round_}"
            team = _call(session, "POST", f"{base_url}/api/v1/teams/", {"name": team_name})
            outcomes.append(team)
            if team.status == 201:
                expected.teams[team_name] = team.body["id"]
                service_name = f"soak-service-{number}-{round_}"
                service = _call(
                    session,
                    "POST",
                    f"{base_url}/api/v1/services/",
                    {"name": service_name, "owner_team": team.body["id"], "criticality": "low"},
                )
                outcomes.append(service)
                if service.status == 201:
                    description = f"edited by writer {number} in round {round_}"
                    in_scope = round_ % 2 == 0
                    edit = _call(
                        session,
                        "PATCH",
                        f"{base_url}/api/v1/services/{service.body['id']}/",
                        {"description": description, "in_scope": in_scope},
                    )
                    outcomes.append(edit)
                    if edit.ok:
                        expected.services[service_name] = (service.body["id"], team.body["id"], description, in_scope)
            round_ += 1
    return outcomes, expected


def _watch_health(irp: IRPProcesses, stop: threading.Event, samples: list[tuple[int, dict[str, Any]]]) -> None:
    while not stop.wait(1.0):
        try:
            samples.append(irp.healthz(timeout=10))
        except (requests.RequestException, ValueError) as error:
            samples.append((0, {"error": repr(error)}))


def _database_rows(path: Path) -> Expected:
    with closing(sqlite3.connect(path)) as db:
        teams = dict(db.execute("SELECT name, id FROM oncall_team WHERE name LIKE 'soak-team-%'"))
        services = {
            name: (service_id, team_id, description, bool(in_scope))
            for name, service_id, team_id, description, in_scope in db.execute(
                "SELECT name, id, owner_team_id, description, in_scope FROM incidents_service"
                " WHERE name LIKE 'soak-service-%'"
            )
        }
    return Expected(teams=teams, services=services)


@pytest.fixture
def irp(tmp_path: Path) -> Iterator[IRPProcesses]:
    database = tmp_path / "irp.sqlite3"
    with running_irp(f"sqlite:///{database}", tmp_path, web_concurrency=4, web_threads=4) as processes:
        yield processes


@pytest.mark.slow
def test_twenty_api_writers_beside_worker_and_engine_lose_nothing(irp: IRPProcesses, tmp_path: Path) -> None:
    # A plan owner (not a superuser), so every request also runs the real permission checks.
    irp.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        f"User.objects.create_user({PLAN_OWNER!r}).groups.add(Group.objects.get(name='Plan owners'))",
    )
    token = irp.manage("create_api_token", PLAN_OWNER, "--name", "soak test").strip()

    start = threading.Barrier(WRITERS + 1, timeout=60)
    health_samples: list[tuple[int, dict[str, Any]]] = []
    stopping = threading.Event()
    watcher = threading.Thread(target=_watch_health, args=(irp, stopping, health_samples), daemon=True)
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="writer") as pool:
        futures = [pool.submit(_writer, n, irp.base_url, token, start, stopping) for n in range(WRITERS)]
        try:
            start.wait()
            began = time.monotonic()
            watcher.start()
            # .result() re-raises whatever broke a writer; the timeout catches one that hangs.
            results = [future.result(timeout=SOAK_SECONDS + 120) for future in futures]
        finally:
            # After a Ctrl-C or a broken writer, the others stop now rather than at the deadline.
            stopping.set()
            start.abort()
    elapsed = time.monotonic() - began
    watcher.join()
    final_status, final_health = irp.healthz()
    exit_codes = irp.stop()

    outcomes = [outcome for writer_outcomes, _ in results for outcome in writer_outcomes]
    failures = [outcome for outcome in outcomes if not outcome.ok]
    writes_per_writer = [len(writer_outcomes) for writer_outcomes, _ in results]
    latencies = sorted(outcome.seconds for outcome in outcomes)
    beat_ages = [
        body["checks"][kind].get("age_seconds", 0)
        for _, body in health_samples
        if "checks" in body
        for kind in ("worker", "engine")
    ]
    print(
        f"\n{len(outcomes)} writes by {WRITERS} writers in {elapsed:.1f} s = {len(outcomes) / elapsed:.0f}/s; "
        f"per writer {min(writes_per_writer)} to {max(writes_per_writer)}; "
        f"latency median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
        f"/healthz answered {len(health_samples)} times, oldest heartbeat seen {max(beat_ages, default=0):.1f} s old"
    )

    assert not failures, f"{len(failures)} of {len(outcomes)} writes failed, e.g. {failures[:5]}"
    assert len(outcomes) >= MIN_WRITES_PER_SECOND * SOAK_SECONDS, f"only {len(outcomes)} writes"
    assert min(writes_per_writer) > 0, "some writers never wrote"

    expected = Expected()
    for _, writer_expected in results:
        expected.teams.update(writer_expected.teams)
        expected.services.update(writer_expected.services)
    stored = _database_rows(tmp_path / "irp.sqlite3")
    # Equal, not just included: a write that failed must not have been stored either.
    assert stored.teams == expected.teams
    assert stored.services == expected.services

    assert all(status == 200 for status, _ in health_samples), [s for s in health_samples if s[0] != 200][:3]
    assert len(health_samples) >= SOAK_SECONDS / 5, "/healthz was too slow to answer during the soak"
    assert final_status == 200, final_health
    assert final_health["checks"]["worker"]["ok"], final_health
    assert final_health["checks"]["engine"]["ok"], final_health

    assert exit_codes == {"web": 0, "worker": 0, "engine": 0}
    problems = {
        name: [line for line in log.splitlines() if LOG_PROBLEMS.search(line)][:5] for name, log in irp.logs().items()
    }
    assert not any(problems.values()), problems
