"""Escalation timing (issue 5): are pages sent when they fall due, and how soon after an alert?

Unlike the other benchmarks this one runs IRP's three real processes (web, worker and engine, as the
Procfile starts them, through `irp_site.testing.processes.IRPProcesses`) on a PostgreSQL database of
its own, `<bench database>_escalation`, created for the run and dropped after it. Notifications go
to webhook contact methods that point at an `HttpReceiver` in this process, which records the
arrival time (`time.time()` when the request line was read) of every POST.

Two rows:

- **due steps**: 1,000 open (triggered) incidents on 10 services, each service with a one-step
  policy paging one person who has one webhook rule, delay 0. The incidents are created with no
  `pages_at`; one UPDATE then sets `pages_at = start + i · 60 / 1000 s` (start 2 s ahead), so
  incident i's first step, and its only notification, is due at exactly that instant. Lateness =
  receipt − due. Targets: p99 ≤ 1 s, max ≤ 2 s, none lost, none twice.
- **alert → first notification**: PagerDuty Events v2 triggers POSTed to the web process's
  `/v2/enqueue` at 100 a second for 20 s, each with a new dedup key, for a service with no flap
  grace whose policy pages one webhook at once. Latency = receipt − the moment the POST was sent.
  Target: p99 ≤ 1 s (and none lost, none twice).

Both start after a warm-up (a few incidents paged, a few triggers sent and notified) so lazy
imports and first connections are not measured; then 5 s of idle show what ticking and polling
cost with nothing to do. Every Python process runs on this machine and
takes its times from the same clock; PostgreSQL's clock is compared with it and printed. The stage
breakdown (from the deliveries' `created_at` and their first attempt's `started_at`) shows where
the time goes. Lost notifications, duplicates and error lines in the processes' logs count as
errors; the latency targets are printed, met or not (`bench: escalation: … met` / `NOT met`).
The CPU time each process used during each part is printed too (from /proc), per notification.

The processes get IRP's production settings. To try others, set them in the environment of the
run (`ENGINE_TICK_SECONDS=0.1 Q_POLL=0.05 make bench BENCH_ARGS=escalation`); the benchmark's own
knobs are BENCH_ESCALATION_ALERTS_PER_S (default 100) and BENCH_ESCALATION_ENGINES (engine
processes side by side, default 1).

`python -m bench.bench_escalation setup CONFIG` is the set-up phase: Django, with the processes'
environment, creates the people, policies, services, the integration and the incidents, and prints
their ids as one JSON line.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
import requests

from bench import database, server
from bench.context import BenchmarkError, Context, Row
from bench.server import REPO
from bench.wrk import Measurement
from irp_site.testing.processes import IRPProcesses, ProcessError
from irp_site.testing.receivers import HttpReceiver, Received

PREFIX = "bench-escalation"
DATABASE_SUFFIX = "_escalation"

DUE_INCIDENTS = 1_000
DUE_SPREAD_S = 60.0
DUE_PEOPLE = 10
# The first step falls due this long after pages_at is set: the UPDATE itself is never measured.
DUE_LEAD_S = 2.0

# Issue 5's rate; BENCH_ESCALATION_ALERTS_PER_S tries another (e.g. to find the rate that is sustained).
ALERTS_PER_S = float(os.environ.get("BENCH_ESCALATION_ALERTS_PER_S", "100"))
ALERTS_FOR_S = 20.0
SENDER_THREADS = 32
ENGINES = int(os.environ.get("BENCH_ESCALATION_ENGINES", "1"))
PATH = "/v2/enqueue"
RATE_LIMIT_PER_MINUTE = 1_000_000_000

WARMUP_INCIDENTS = 5
WARMUP_TRIGGERS = 10
# How long after the last due time (or the last trigger) to wait for notifications still to come
# (longer while a backlog is still draining, up to MAX_WAIT_S more; not after NO_PROGRESS_S without
# any arrival), and how long to go on listening once all have arrived, for any sent twice.
ARRIVAL_TIMEOUT_S = 30.0
MAX_WAIT_S = 90.0
NO_PROGRESS_S = 5.0
SETTLE_S = 3.0
READY_TIMEOUT_S = 60.0
IDLE_S = 5.0

TARGET_P99_S = 1.0
TARGET_MAX_S = 2.0

# The web process as the other benchmarks run it (2 sync workers, as irp_site/gunicorn_conf.py's
# defaults); no access log, as there. Everything else is IRP's production defaults unless this
# run's environment says otherwise (ENGINE_TICK_SECONDS, Q_POLL, Q_WORKERS, ...), which is how to
# try other values: `Q_WORKERS=4 make bench BENCH_ARGS=escalation`.
PROCESS_ENV = {
    "DJANGO_SETTINGS_MODULE": "irp_site.settings",
    "CONN_MAX_AGE": "60",
    "WEB_ACCESS_LOG": "",
    "LOG_LEVEL": "WARNING",
}
LOG_PROBLEM = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")
# IRP's auditor logs this when paging runs more than OVERDUE_ALARM_SECONDS late: a symptom of a
# missed latency target (reported as such), not a fault of its own, so it is counted apart.
OVERDUE_ALARM = "irp_site.auditor due work is late"

# The stages of one notification, from the delivery rows: the engine writes the delivery
# (created_at), a worker claims it (its first attempt's started_at) and POSTs it.
STAGES_SQL = """
SELECT incident.id, delivery.created_at, delivery.status,
       (SELECT min(attempt.started_at) FROM oncall_deliveryattempt attempt WHERE attempt.delivery_id = delivery.id)
FROM incidents_incident incident
LEFT JOIN oncall_delivery delivery ON delivery.subject = 'incident:' || incident.id
WHERE incident.id = ANY(%(ids)s)
"""


@dataclass(frozen=True)
class Setup:
    due_ids: list[int]
    warmup_ids: list[int]
    routing_key: str
    integration_id: int
    settings: dict[str, Any]


@dataclass
class Arrivals:
    """What the receiver got for one set of incidents, each expected to be notified exactly once."""

    expected: int
    posts: int
    distinct_keys: int
    lost: int
    duplicated: int
    first_at: dict[int, float]  # incident id -> when its first notification arrived
    stray: int  # POSTs about incidents not in the set


@dataclass
class Sent:
    n: int
    dedup_key: str
    scheduled_at: float
    sent_at: float = math.nan
    answered_at: float = math.nan
    status: int = 0
    error: str = ""


@dataclass
class Stages:
    """Per incident, seconds: wait for the engine to write the delivery, hand-over to a worker, sending."""

    engine: list[float] = field(default_factory=list)
    handover: list[float] = field(default_factory=list)
    send: list[float] = field(default_factory=list)
    # (due or send time, total latency) per incident: whether a backlog grew, and when.
    timeline: list[tuple[float, float]] = field(default_factory=list)
    # Where the incidents that were not notified stand: "no delivery yet" or the delivery's status.
    not_received: Counter[str] = field(default_factory=Counter)


@dataclass
class Outcome:
    """One part's measurement, before it becomes a row; samples are seconds."""

    name: str
    method: str
    path: str
    samples: list[float]
    arrivals: Arrivals
    stages: Stages
    log_problems: list[str]
    cpu_s: dict[str, float]
    # The machine's 1-minute load average before and after: other work lowers every figure.
    load: tuple[float, float]
    duration_s: float
    max_target: bool
    extra: dict[str, Any]
    refused: int = 0


def run(ctx: Context) -> list[Row]:
    url = own_database_url(ctx.server_env["DATABASE_URL"])
    database.recreate_database(url)
    try:
        with tempfile.TemporaryDirectory(prefix="irp-bench-escalation-") as workdir, HttpReceiver() as receiver:
            return _run_processes(ctx, url, Path(workdir), receiver)
    finally:
        database.drop_database(url)


def own_database_url(url: str) -> str:
    """The bench database's URL with `_escalation` added to its name: a database of this benchmark's own."""
    name = environ.Env.db_url_config(url)["NAME"]
    return urlsplit(url)._replace(path=f"/{name}{DATABASE_SUFFIX}").geturl()


def _run_processes(ctx: Context, url: str, workdir: Path, receiver: HttpReceiver) -> list[Row]:
    irp = IRPProcesses(url, workdir, web_concurrency=server.WORKERS, web_threads=1, env=PROCESS_ENV)
    with irp:
        started = time.monotonic()
        with irp.log_path("manage").open("a") as log:
            # As the runner does: the database is thrown away, its migrations need no durable commits.
            try:
                server.manage({**irp.env, "PGOPTIONS": "-c synchronous_commit=off"}, "migrate", "--noinput", log=log)
            except server.ServerError as error:
                log.flush()
                raise BenchmarkError(f"{error}:\n{irp.logs().get('manage', '')[-3000:]}") from error
        setup = _setup(irp, receiver)
        _say(
            f"migrated and set up in {time.monotonic() - started:.1f} s; "
            f"{_settings_line(setup.settings)}, engine processes {ENGINES}"
        )
        irp.start()
        # DESIGN.md §3: any number of engines may run side by side; BENCH_ESCALATION_ENGINES tries more.
        for number in range(2, ENGINES + 1):
            irp.commands[f"engine{number}"] = irp.commands["engine"]
            irp.start_process(f"engine{number}")
        try:
            irp.wait_until_healthy(READY_TIMEOUT_S)
        except ProcessError as error:
            raise BenchmarkError(str(error)) from error
        pids = ", ".join(f"{name} (pid {process.pid})" for name, process in irp.processes.items())
        _say(f"{pids} running against {url}")
        _say_clocks(url)
        try:
            _warm_up(irp, receiver, url, setup)
            _say_idle(irp, url)
            rows = [_due_steps(ctx, irp, receiver, url, setup), _alerts(ctx, irp, receiver, url, setup)]
        except Exception:
            _say_log_tails(irp)
            raise
        codes = irp.stop()
    unclean = {name: code for name, code in codes.items() if code not in (0, None)}
    if unclean:
        _say(f"processes that did not stop cleanly on SIGTERM (exit codes): {unclean}")
    return rows


# --- Set-up and warm-up ---------------------------------------------------------------------------


def _setup(irp: IRPProcesses, receiver: HttpReceiver) -> Setup:
    config = {
        "prefix": PREFIX,
        "hooks": receiver.url(""),
        "due_incidents": DUE_INCIDENTS,
        "due_people": DUE_PEOPLE,
        "warmup_incidents": WARMUP_INCIDENTS,
        "routing_key": secrets.token_hex(16),
        "rate_limit": RATE_LIMIT_PER_MINUTE,
    }
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_escalation", "setup", json.dumps(config)],
        cwd=REPO,
        env=irp.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"the set-up exited with {completed.returncode}:\n{completed.stderr[-3000:]}")
    return Setup(**json.loads(completed.stdout.strip().splitlines()[-1]))


def _warm_up(irp: IRPProcesses, receiver: HttpReceiver, url: str, setup: Setup) -> None:
    """First pages and first triggers pay for imports, connections and caches in every process."""
    started = time.monotonic()
    _set_pages_at(url, {pk: datetime.now(UTC) for pk in setup.warmup_ids})
    session = requests.Session()
    for n in range(WARMUP_TRIGGERS):
        response = session.post(irp.base_url + PATH, json=_trigger(setup.routing_key, f"warmup-{n}"), timeout=30)
        if response.status_code != 202:
            raise BenchmarkError(f"POST {PATH} answered {response.status_code}, expected 202: {response.text[:300]}")
    try:
        receiver.wait_for(WARMUP_INCIDENTS + WARMUP_TRIGGERS, timeout=ARRIVAL_TIMEOUT_S)
    except TimeoutError as error:
        raise BenchmarkError(f"warm-up: {error}; the engine or the worker is not delivering") from error
    time.sleep(1.0)
    _say(f"warmed up in {time.monotonic() - started:.1f} s")


def _say_idle(irp: IRPProcesses, url: str) -> None:
    """What the processes cost with nothing to do: the price of ticking and polling often."""
    before = _cpu_seconds(irp, url)
    time.sleep(IDLE_S)
    used = _cpu_used(before, _cpu_seconds(irp, url))
    shares = ", ".join(
        f"{name} {seconds / IDLE_S * 100:.1f}%" for name, seconds in used.items() if name in irp.processes
    )
    _say(f"idle for {IDLE_S:.0f} s, CPU used (of one core): {shares}")


# --- Due steps --------------------------------------------------------------------------------------


def _due_steps(ctx: Context, irp: IRPProcesses, receiver: HttpReceiver, url: str, setup: Setup) -> Row:
    name = f"due steps: {DUE_INCIDENTS:,} due over {DUE_SPREAD_S:.0f} s"
    logs_before, cpu_before, load_before = _log_sizes(irp), _cpu_seconds(irp, url), os.getloadavg()[0]
    already = len(receiver.received())
    start = datetime.now(UTC) + timedelta(seconds=DUE_LEAD_S)
    step = DUE_SPREAD_S / DUE_INCIDENTS
    due = {pk: start + timedelta(seconds=i * step) for i, pk in enumerate(setup.due_ids)}
    _set_pages_at(url, due)
    due_s = {pk: at.timestamp() for pk, at in due.items()}
    _say(f"{name}: pages_at set, first due at {start:%H:%M:%S.%f} UTC, one every {step * 1000:.0f} ms")

    last_due = max(due_s.values())
    arrivals = _wait_for_arrivals(receiver, set(due_s), after=already, deadline=last_due + ARRIVAL_TIMEOUT_S)
    return _row(
        ctx,
        Outcome(
            name=name,
            method="due",
            path="escalation step → webhook receipt",
            samples=[arrivals.first_at[pk] - due_s[pk] for pk in arrivals.first_at],
            arrivals=arrivals,
            stages=_stages(url, due_s, arrivals),
            log_problems=_log_problems(irp, logs_before),
            cpu_s=_cpu_used(cpu_before, _cpu_seconds(irp, url)),
            load=(load_before, os.getloadavg()[0]),
            duration_s=DUE_SPREAD_S,
            max_target=True,
            extra={"due_spread_s": DUE_SPREAD_S, "first_due_at": start.isoformat()},
        ),
    )


# --- Alert → first notification ----------------------------------------------------------------------


def _alerts(ctx: Context, irp: IRPProcesses, receiver: HttpReceiver, url: str, setup: Setup) -> Row:
    total = round(ALERTS_PER_S * ALERTS_FOR_S)
    name = f"alert → first notification: {total:,} triggers at {ALERTS_PER_S:.0f}/s"
    logs_before, cpu_before, load_before = _log_sizes(irp), _cpu_seconds(irp, url), os.getloadavg()[0]
    already = len(receiver.received())
    prefix = f"alert-{secrets.token_hex(4)}"
    sent = _send_paced(irp.base_url + PATH, setup.routing_key, prefix, total=total)
    accepted = [s for s in sent if s.status == 202]
    incident_of = _incidents_by_dedup_key(url, setup.integration_id, prefix)
    sent_s = {incident_of[s.dedup_key]: s.sent_at for s in accepted if s.dedup_key in incident_of}
    span = max(s.sent_at for s in sent) - min(s.sent_at for s in sent)
    behind = [s.sent_at - s.scheduled_at for s in sent]
    answers = [s.answered_at - s.sent_at for s in accepted]
    statuses = Counter(s.status for s in sent)
    _say(
        f"{name}: sent {len(sent):,} in {span:.1f} s ({(len(sent) - 1) / max(span, 1e-9):.1f}/s; each sent at most "
        f"{max(behind) * 1000:.0f} ms after its slot); answers {_statuses(statuses)}, p50 "
        f"{_percentile(answers, 50) * 1000:.0f} / p99 {_percentile(answers, 99) * 1000:.0f} ms; "
        f"{len(incident_of):,} incidents opened"
    )
    first_error = next((s.error for s in sent if s.error), "")
    if first_error:
        _say(f"first failed POST: {first_error}")

    arrivals = _wait_for_arrivals(
        receiver, set(sent_s), after=already, deadline=max(s.sent_at for s in sent) + ARRIVAL_TIMEOUT_S
    )
    return _row(
        ctx,
        Outcome(
            name=name,
            method="POST",
            path=f"{PATH} → webhook receipt",
            samples=[arrivals.first_at[pk] - sent_s[pk] for pk in arrivals.first_at],
            arrivals=arrivals,
            stages=_stages(url, sent_s, arrivals),
            log_problems=_log_problems(irp, logs_before),
            cpu_s=_cpu_used(cpu_before, _cpu_seconds(irp, url)),
            load=(load_before, os.getloadavg()[0]),
            duration_s=span,
            # Issue 5 sets only a p99 for this path.
            max_target=False,
            # A trigger that was not accepted, or accepted without an incident, is lost as surely.
            refused=total - len(sent_s),
            extra={
                "triggers": total,
                "answered": len(sent),
                "statuses": {str(status): count for status, count in statuses.items()},
                "send_span_s": span,
                "max_behind_schedule_ms": max(behind) * 1000,
                "answer_ms": _distribution(answers),
            },
        ),
    )


def _send_paced(url: str, routing_key: str, prefix: str, *, total: int) -> list[Sent]:
    """POST trigger n at its slot, start + n / ALERTS_PER_S, from a pool of threads (one session each)."""
    jobs: queue.Queue[Sent | None] = queue.Queue()
    done: list[Sent] = []
    lock = threading.Lock()

    def sender() -> None:
        session = requests.Session()
        while (job := jobs.get()) is not None:
            body = json.dumps(_trigger(routing_key, job.dedup_key))
            job.sent_at = time.time()
            try:
                response = session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
                job.status = response.status_code
                if response.status_code != 202:
                    job.error = f"{response.status_code}: {response.text[:200]}"
            except requests.RequestException as error:
                job.error = f"{error.__class__.__name__}: {error}"
            job.answered_at = time.time()
            with lock:
                done.append(job)

    threads = [threading.Thread(target=sender, name=f"sender-{i}", daemon=True) for i in range(SENDER_THREADS)]
    for thread in threads:
        thread.start()
    start = time.time() + 0.1
    for n in range(total):
        slot = start + n / ALERTS_PER_S
        time.sleep(max(0.0, slot - time.time()))
        jobs.put(Sent(n=n, dedup_key=f"{prefix}-{n}", scheduled_at=slot))
    for _ in threads:
        jobs.put(None)
    for thread in threads:
        thread.join(timeout=60)
    return sorted(done, key=lambda s: s.n)


def _trigger(routing_key: str, dedup_key: str) -> dict[str, Any]:
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": f"Escalation bench {dedup_key}", "source": "bench.example.com", "severity": "critical"},
    }


# --- Measuring ---------------------------------------------------------------------------------------


def _wait_for_arrivals(receiver: HttpReceiver, expected: set[int], *, after: int, deadline: float) -> Arrivals:
    """Wait until every incident in `expected` has been notified, then SETTLE_S more for any repeats.

    Past `deadline` (the last due time or trigger plus ARRIVAL_TIMEOUT_S) it waits only while
    notifications still arrive (a backlog draining), up to MAX_WAIT_S after it.
    """
    last_count, last_progress = -1, time.time()
    while time.time() < deadline + MAX_WAIT_S:
        count = len({_incident_id(r) for r in receiver.received()[after:]} & expected)
        if count >= len(expected):
            break
        if count != last_count:
            last_count, last_progress = count, time.time()
        elif time.time() > deadline and time.time() - last_progress > NO_PROGRESS_S:
            break
        time.sleep(0.25)
    time.sleep(SETTLE_S)
    posts = receiver.received()[after:]
    mine = [r for r in posts if _incident_id(r) in expected]
    first_at: dict[int, float] = {}
    for received in sorted(mine, key=lambda r: r.at):
        first_at.setdefault(_incident_id(received) or 0, received.at)
    keys = Counter(r.headers.get("x-irp-delivery", "") for r in mine)
    per_incident = Counter(_incident_id(r) for r in mine)
    return Arrivals(
        expected=len(expected),
        posts=len(mine),
        distinct_keys=len(keys),
        lost=len(expected) - len(first_at),
        # Every POST beyond the first about an incident: each was meant to be notified once.
        duplicated=sum(count - 1 for count in per_incident.values()),
        first_at=first_at,
        stray=len(posts) - len(mine),
    )


def _incident_id(received: Received) -> int | None:
    body = received.json
    if isinstance(body, dict) and isinstance(body.get("incident"), dict):
        pk = body["incident"].get("id")
        return pk if isinstance(pk, int) else None
    return None


def _stages(url: str, start_s: Mapping[int, float], arrivals: Arrivals) -> Stages:
    """From the deliveries: the engine's part, the hand-over to a worker, the send itself."""
    stages = Stages()
    with database.connect(url) as connection:
        rows = connection.execute(STAGES_SQL, {"ids": list(start_s)}).fetchall()
    for pk, created_at, status, attempted_at in rows:
        if pk not in arrivals.first_at:
            stages.not_received[status or "no delivery yet"] += 1
        elif attempted_at is not None:
            stages.engine.append(created_at.timestamp() - start_s[pk])
            stages.handover.append(attempted_at.timestamp() - created_at.timestamp())
            stages.send.append(arrivals.first_at[pk] - attempted_at.timestamp())
            stages.timeline.append((start_s[pk], arrivals.first_at[pk] - start_s[pk]))
    return stages


def _over_time(timeline: list[tuple[float, float]], *, buckets: int = 10) -> list[dict[str, float]]:
    """The latency's median and maximum in consecutive slices of the part (by due or send time)."""
    if not timeline:
        return []
    first, last = min(t for t, _ in timeline), max(t for t, _ in timeline)
    width = (last - first) / buckets or 1.0
    slices: list[list[float]] = [[] for _ in range(buckets)]
    for t, latency in timeline:
        slices[min(buckets - 1, int((t - first) / width))].append(latency)
    return [
        {
            "from_s": round(i * width, 1),
            "p50_ms": round(_percentile(values, 50) * 1000),
            "max_ms": round(max(values) * 1000),
        }
        for i, values in enumerate(slices)
        if values
    ]


def _row(ctx: Context, outcome: Outcome) -> Row:
    dist = _distribution(outcome.samples)
    arrivals = outcome.arrivals
    lost = arrivals.lost + outcome.refused
    met = {f"p99 ≤ {TARGET_P99_S:.0f} s": bool(outcome.samples) and dist["p99_ms"] <= TARGET_P99_S * 1000}
    if outcome.max_target:
        met[f"max ≤ {TARGET_MAX_S:.0f} s"] = bool(outcome.samples) and dist["max_ms"] <= TARGET_MAX_S * 1000
    met |= {"none lost": lost == 0, "none twice": arrivals.duplicated == 0}
    _say_table(outcome, dist, lost=lost)
    faults = [line for line in outcome.log_problems if OVERDUE_ALARM not in line]
    alarms = len(outcome.log_problems) - len(faults)
    if alarms:
        _say(f"{outcome.name}: the auditor logged {alarms} time(s) that paging was overdue (see below)")
    for line in outcome.log_problems[:10]:
        _say(f"log: {line}")
    verdict = "; ".join(f"{target}: {'met' if ok else 'NOT met'}" for target, ok in met.items())
    _say(f"{outcome.name}: targets {verdict} → {'met' if all(met.values()) else 'NOT met'}")
    measurement = Measurement(
        requests=len(outcome.samples),
        duration_s=outcome.duration_s,
        p50_ms=dist["p50_ms"],
        p99_ms=dist["p99_ms"],
        errors={"lost": lost, "duplicated": arrivals.duplicated, "log": len(faults)},
    )
    stages = outcome.stages
    details = {
        **outcome.extra,
        "latency_ms": dist,
        "expected": arrivals.expected + outcome.refused,
        "received": arrivals.posts,
        "distinct_keys": arrivals.distinct_keys,
        "lost": lost,
        "not_received": dict(stages.not_received),
        "duplicated": arrivals.duplicated,
        "stray_posts": arrivals.stray,
        "stages_ms": {
            "engine": _distribution(stages.engine),
            "handover": _distribution(stages.handover),
            "send": _distribution(stages.send),
        },
        "latency_over_time": _over_time(stages.timeline),
        "cpu_s": outcome.cpu_s,
        "load_average": outcome.load,
        "targets": met,
        "log_problems": faults[:50],
        "overdue_alarms": [line for line in outcome.log_problems if OVERDUE_ALARM in line][:50],
    }
    row = Row(ctx.current_benchmark, outcome.name, outcome.method, outcome.path, measurement, None, json.dumps(details))
    return row


def _say_table(outcome: Outcome, dist: dict[str, float], *, lost: int) -> None:
    def ms(values: Mapping[str, float]) -> list[str]:
        return [f"{values[key]:,.0f}" for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "min_ms")]

    stages, arrivals = outcome.stages, outcome.arrivals
    header = ["ms", "p50", "p90", "p99", "max", "min"]
    lines = [
        ["receipt − due" if outcome.method == "due" else "receipt − POST sent", *ms(dist)],
        ["  until the engine writes the delivery", *ms(_distribution(stages.engine))],
        ["  then until a worker claims it", *ms(_distribution(stages.handover))],
        ["  then until the POST arrives", *ms(_distribution(stages.send))],
    ]
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    table = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line))
        for line in [header, *lines]
    ]
    counts = (
        f"expected {arrivals.expected + outcome.refused:,}  received {arrivals.posts:,}  "
        f"distinct keys {arrivals.distinct_keys:,}  lost {lost:,}  duplicated {arrivals.duplicated:,}"
    )
    if stages.not_received:
        counts += " (not received: " + ", ".join(f"{n:,} {what}" for what, n in stages.not_received.items()) + ")"
    if arrivals.stray:
        counts += f"  (other POSTs {arrivals.stray})"
    per = max(1, arrivals.expected)
    cpu = "CPU s (ms per notification): " + ", ".join(
        f"{name} {seconds:.1f} ({seconds / per * 1000:.1f})" for name, seconds in outcome.cpu_s.items()
    )
    over_time = "p50 by tenth of the part, s: " + " ".join(
        f"{slice_['p50_ms'] / 1000:.1f}" for slice_ in _over_time(stages.timeline)
    )
    load = f"load average {outcome.load[0]:.1f} before, {outcome.load[1]:.1f} after"
    _say(f"{outcome.name}\n    " + "\n    ".join([*table, counts, over_time, cpu, load]))


def _distribution(samples: Sequence[float]) -> dict[str, float]:
    if not samples:
        return {key: math.nan for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms", "min_ms")}
    return {
        "p50_ms": _percentile(samples, 50) * 1000,
        "p90_ms": _percentile(samples, 90) * 1000,
        "p99_ms": _percentile(samples, 99) * 1000,
        "max_ms": max(samples) * 1000,
        "min_ms": min(samples) * 1000,
    }


def _percentile(samples: Sequence[float], percent: float) -> float:
    """Nearest rank: the smallest sample with at least `percent` % of the samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)] if ordered else math.nan


# --- The database, the clocks and the logs -----------------------------------------------------------


def _set_pages_at(url: str, due: Mapping[int, datetime]) -> None:
    with database.connect(url) as connection:
        connection.execute(
            "UPDATE incidents_incident SET pages_at = due.at"
            " FROM unnest(%(ids)s::bigint[], %(ats)s::timestamptz[]) AS due(id, at)"
            " WHERE incidents_incident.id = due.id",
            {"ids": list(due), "ats": list(due.values())},
        )


def _incidents_by_dedup_key(url: str, integration_id: int, prefix: str) -> dict[str, int]:
    with database.connect(url) as connection:
        rows = connection.execute(
            "SELECT dedup_key, id FROM incidents_incident WHERE integration_id = %s AND starts_with(dedup_key, %s)",
            (integration_id, f"{prefix}-"),
        ).fetchall()
    return {key: pk for key, pk in rows}


def _say_clocks(url: str) -> None:
    """The processes compare Python times with Python times; PostgreSQL's clock should agree anyway."""
    offsets = []
    with database.connect(url) as connection:
        for _ in range(5):
            before = time.time()
            row = connection.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
            after = time.time()
            assert row is not None
            offsets.append((float(row[0]) - (before + after) / 2, after - before))
    offset, round_trip = min(offsets, key=lambda pair: pair[1])
    _say(f"clocks: PostgreSQL − Python = {offset * 1000:+.2f} ms (round trip {round_trip * 1000:.2f} ms)")
    if abs(offset) > 0.05:
        raise BenchmarkError(f"PostgreSQL's clock is {offset:+.3f} s off this process's; the lateness would be wrong")


def _cpu_seconds(irp: IRPProcesses, url: str) -> dict[str, float]:
    """CPU time (user + system, with reaped children) of each process group, and of PostgreSQL's
    backends for this database (those still connected); Linux /proc only. Then this process."""
    groups = {process.pid: name for name, process in irp.processes.items()}
    totals = dict.fromkeys([*irp.processes, "postgres"], 0.0)
    marker = f" {environ.Env.db_url_config(url)['NAME']} ".encode()
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # gone in between
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3, state, on
        seconds = sum(int(value) for value in fields[11:15]) / tick  # utime, stime, cutime, cstime
        group = int(fields[2])
        if group in groups:
            totals[groups[group]] += seconds
        elif command.startswith(b"postgres: ") and marker in command:
            totals["postgres"] += seconds
    own = os.times()
    totals["bench (senders, receiver)"] = own.user + own.system
    return totals


def _cpu_used(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: round(max(0.0, seconds - before.get(name, 0.0)), 2) for name, seconds in after.items()}


def _log_sizes(irp: IRPProcesses) -> dict[str, int]:
    return {name: len(text) for name, text in irp.logs().items()}


def _log_problems(irp: IRPProcesses, before: Mapping[str, int]) -> list[str]:
    return [
        f"{name}: {line}"
        for name, text in irp.logs().items()
        for line in text[before.get(name, 0) :].splitlines()
        if LOG_PROBLEM.search(line)
    ]


def _say_log_tails(irp: IRPProcesses) -> None:
    for name, text in irp.logs().items():
        _say(f"--- {name}.log (last lines)\n" + "\n".join(text.splitlines()[-20:]))


def _settings_line(settings: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in settings.items())


def _statuses(statuses: Mapping[int, int]) -> str:
    return ", ".join(f"{count:,} x {status or 'no answer'}" for status, count in sorted(statuses.items()))


def _say(message: str) -> None:
    print(f"bench: escalation: {message}", file=sys.stderr, flush=True)


# --- The set-up process: Django with the processes' settings and database -----------------------------


def _phase_setup(config: dict[str, Any]) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import transaction

    from incidents.models import Incident, Integration, Service, SeverityLevel
    from oncall.models import ContactMethod, EscalationPolicy, NotificationRule, Team

    prefix: str = config["prefix"]
    severity = SeverityLevel.objects.get(name="P1")

    def person_service(name: str) -> Service:
        """A person with one webhook notified at once, a one-step policy paging them, and a service."""
        user = User.objects.create_user(name, first_name=name, password=None)
        method = ContactMethod.objects.create(user=user, kind="webhook", address=f"{config['hooks']}/hooks/{name}")
        for urgency in NotificationRule.Urgency.values:
            NotificationRule.objects.create(user=user, urgency=urgency, contact_method=method)
        policy = EscalationPolicy.objects.create(name=name)
        policy.steps.create(position=0).users.set([user])
        return Service.objects.create(
            name=name, owner_team=team, escalation_policy=policy, flap_grace_period=timedelta(0)
        )

    with transaction.atomic():
        team = Team.objects.create(name=prefix)
        services = [person_service(f"{prefix}-due-{k}") for k in range(config["due_people"])]
        alert_service = person_service(f"{prefix}-alerts")
        integration = Integration.objects.create(
            name=f"{prefix}-alerts",
            service=alert_service,
            kind=Integration.Kind.PAGERDUTY,
            key=config["routing_key"],
            rate_limit_per_minute=config["rate_limit"],
        )
        # No pages_at yet: the engine leaves them alone until the benchmark sets their due times.
        count = config["warmup_incidents"] + config["due_incidents"]
        incidents = Incident.objects.bulk_create(
            Incident(
                title=f"Escalation bench due step {i}",
                status=Incident.Status.TRIGGERED,
                severity=severity,
                service=services[i % len(services)],
                dedup_key=f"due-{i}",
                pages_at=None,
            )
            for i in range(count)
        )
    ids = [incident.pk for incident in incidents]
    return {
        "warmup_ids": ids[: config["warmup_incidents"]],
        "due_ids": ids[config["warmup_incidents"] :],
        "routing_key": config["routing_key"],
        "integration_id": integration.pk,
        "settings": {
            "ENGINE_TICK_SECONDS": settings.ENGINE_TICK_SECONDS,
            "Q_WORKERS": settings.Q_CLUSTER["workers"],
            "Q_POLL": settings.Q_CLUSTER["poll"],
            "WEB_CONCURRENCY": server.WORKERS,
        },
    }


def main(argv: list[str]) -> int:
    import django

    django.setup()
    phases: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"setup": _phase_setup}
    if len(argv) != 2 or argv[0] not in phases:
        print(f"usage: python -m bench.bench_escalation {{{','.join(phases)}}} CONFIG_JSON", file=sys.stderr)
        return 2
    print(json.dumps(phases[argv[0]](json.loads(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
