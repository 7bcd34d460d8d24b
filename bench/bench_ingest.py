"""Alert ingestion: PagerDuty Events v2 triggers under load, and an alert storm that must lose nothing.

Three rows, all against `POST /v2/enqueue` with the routing key of a PagerDuty integration made for
the run (its rate limit far above anything sent, so no 429):

- **new incidents**: every trigger has a dedup key of its own, so each opens an incident (routing,
  the incident, its alert and timeline entries). Compared with the yardstick insert; the targets
  (issue 3) are at least 0.5 of it and p99 at most 100 ms.
- **repeats**: triggers cycling through a few dedup keys, so nearly all are repeats of an open
  incident (the dedup path: the alert and incident counters go up, nothing new is created).
- **alert storm**: exactly 10,000 triggers over 10 dedup keys from 32 concurrent clients
  (`bench/storm_client.py`; wrk cannot stop at a count). Then the database must hold exactly 10
  incidents for that integration, all open, whose `alert_count` adds up to 10,000, every answer
  must be a 202 and the server log must show no error. Its errors column counts the problems.

After each wrk row, the incidents whose dedup keys that run used must account for every trigger wrk
saw answered ("lost" in the JSON's error breakdown): a 202 means the alert is in the database.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import Any

from bench import database
from bench.context import WARMUP_S, BenchmarkError, Context, Row
from bench.server import REPO
from bench.wrk import CONNECTIONS, SCRIPT, THREADS, Measurement, WrkError, parse_output, require_wrk

PATH = "/v2/enqueue"
LUA_SCRIPT = SCRIPT.with_name("wrk_pagerduty.lua")
# Far above anything a run can send: the rate limit is measured (one upsert per event), never hit.
RATE_LIMIT_PER_MINUTE = 1_000_000_000
REPEATED_KEYS = 10
STORM_TRIGGERS = 10_000
STORM_KEYS = 10
# Bounded, yet generous: with the ingestion code of November 2026 the storm took 90-180 s here,
# and 430 s with other work loading the machine (load average 6-10).
STORM_TIMEOUT_S = 600
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
# gunicorn logs "[ERROR]" and "[CRITICAL] WORKER TIMEOUT"; Django logs "ERROR django.request".
LOG_PROBLEM = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")

SETUP_CODE = """
from incidents.models import Integration, Service
from oncall.models import Team

team = Team.objects.create(name={team!r})
for name, key in {integrations!r}:
    service = Service.objects.create(name=name, owner_team=team)
    Integration.objects.create(
        name=name, service=service, kind=Integration.Kind.PAGERDUTY, key=key, rate_limit_per_minute={limit}
    )
"""

# Per integration, the incidents whose dedup key starts with a prefix, and their alerts.
TOTALS_SQL = """
SELECT count(incident.id),
       count(incident.id) FILTER (WHERE incident.status <> 'resolved'),
       coalesce(sum(incident.alert_count), 0),
       (SELECT count(*) FROM incidents_alert alert WHERE alert.integration_id = integration.id
          AND starts_with(alert.key, %(prefix)s)),
       (SELECT coalesce(sum(alert.occurrences), 0) FROM incidents_alert alert
          WHERE alert.integration_id = integration.id AND starts_with(alert.key, %(prefix)s))
FROM incidents_integration integration
LEFT JOIN incidents_incident incident
  ON incident.integration_id = integration.id AND starts_with(incident.dedup_key, %(prefix)s)
WHERE integration.key = %(key)s
GROUP BY integration.id
"""


@dataclass(frozen=True)
class Totals:
    incidents: int
    open_incidents: int
    alert_count: int
    alerts: int
    occurrences: int


@dataclass(frozen=True)
class RoutingKeys:
    load: str
    storm: str


def run(ctx: Context) -> list[Row]:
    insert = ctx.yardstick_insert()
    keys = _create_integrations(ctx)
    rows = [
        _measure(ctx, "new incidents", keys.load, repeated_keys=0, baseline=insert),
        _measure(ctx, f"repeats of {REPEATED_KEYS} keys", keys.load, repeated_keys=REPEATED_KEYS, baseline=insert),
    ]
    for row in rows:
        _say_targets(row)
    _drain(ctx, keys.load, f"drain-{secrets.token_hex(4)}")
    rows.append(_storm(ctx, keys.storm, baseline=insert))
    return rows


def _create_integrations(ctx: Context) -> RoutingKeys:
    """A team, and per row kind a service with a PagerDuty integration, through IRP's own models."""
    suffix = secrets.token_hex(3)
    keys = RoutingKeys(load=secrets.token_hex(16), storm=secrets.token_hex(16))
    integrations = [(f"bench-ingest-load-{suffix}", keys.load), (f"bench-ingest-storm-{suffix}", keys.storm)]
    code = SETUP_CODE.format(team=f"bench-ingest-{suffix}", integrations=integrations, limit=RATE_LIMIT_PER_MINUTE)
    ctx.manage("shell", "--no-imports", "--command", code)
    for key in (keys.load, keys.storm):
        if _totals(ctx, key, "") is None:
            raise BenchmarkError(f"the integration with key {key} was not created (see the server log)")
    return keys


def _measure(ctx: Context, name: str, routing_key: str, *, repeated_keys: int, baseline: Row) -> Row:
    """As ctx.measure, but wrk sends a fresh trigger, with its own dedup key, on every request."""
    prefix = f"bench-{secrets.token_hex(4)}"
    # wrk counts every 2xx and 3xx as a success: check once that a trigger is accepted as it should be.
    _expect_accepted(ctx, routing_key, f"{prefix}-check")
    _run_wrk(ctx, duration_s=WARMUP_S, routing_key=routing_key, prefix=f"{prefix}-warmup", repeated_keys=repeated_keys)
    _drain(ctx, routing_key, f"{prefix}-drain")
    measurement, output = _run_wrk(
        ctx, duration_s=ctx.duration_s, routing_key=routing_key, prefix=f"{prefix}-load", repeated_keys=repeated_keys
    )
    # Every trigger wrk saw answered (and not with an error) must be counted on an incident; requests
    # still in flight when wrk stopped may add more, never fewer.
    totals = _totals(ctx, routing_key, f"{prefix}-load-")
    answered = measurement.requests - measurement.errors.get("status", 0)
    lost = max(0, answered - (totals.alert_count if totals else 0))
    measurement = replace(measurement, errors={**measurement.errors, "lost": lost})
    if lost:
        _say(f"{name}: {lost} of {answered} triggers answered with a 2xx are not counted on any incident")
    return Row(ctx.current_benchmark, name, "POST", PATH, measurement, baseline, output)


def _run_wrk(
    ctx: Context, *, duration_s: float, routing_key: str, prefix: str, repeated_keys: int
) -> tuple[Measurement, str]:
    """wrk with bench/wrk_pagerduty.lua; the load is bench/wrk.py's: 2 threads, 32 connections."""
    url = ctx.base_url + PATH
    if not url.startswith("http://127.0.0.1:"):
        raise WrkError(f"benchmarks only ever target 127.0.0.1, not {url}")
    command = [
        require_wrk(),
        f"--threads={THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={max(1, round(duration_s))}s",
        "--latency",
        f"--script={LUA_SCRIPT}",
        "--header",
        "Content-Type: application/json",
        url,
    ]
    env = {
        **os.environ,
        "BENCH_WRK_LUA": str(SCRIPT),
        "BENCH_METHOD": "POST",
        "BENCH_BODY": "",
        "BENCH_ROUTING_KEY": routing_key,
        "BENCH_KEY_PREFIX": prefix,
        "BENCH_DEDUP_KEYS": str(repeated_keys),
    }
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}: {completed.stderr.strip()}")
    return parse_output(completed.stdout), completed.stdout


def _drain(ctx: Context, routing_key: str, dedup_key: str) -> None:
    """Wait until the server has worked through what the last wrk run left queued.

    When wrk stops, up to 32 requests are still queued at the server and are served anyway. At a
    few hundred requests/s that is a moment; at 20/s it would eat the first 1.5 s of the next run.
    A new connection queues behind them, so its answer marks the end of the backlog.
    """
    _expect_accepted(ctx, routing_key, dedup_key)


def _expect_accepted(ctx: Context, routing_key: str, dedup_key: str) -> None:
    status, content = ctx.request("POST", PATH, json_body=_trigger(routing_key, dedup_key))
    if status != 202:
        raise BenchmarkError(f"POST {PATH} answered {status}, expected 202: {content[:300]!r}")


def _storm(ctx: Context, routing_key: str, *, baseline: Row) -> Row:
    name = f"alert storm: {STORM_TRIGGERS:,} triggers, {STORM_KEYS} keys"
    prefix = f"storm-{secrets.token_hex(4)}"
    log_start = len(ctx.server_log())
    command = [
        sys.executable,
        "-m",
        "bench.storm_client",
        f"--port={ctx.port}",
        f"--routing-key={routing_key}",
        f"--prefix={prefix}",
        f"--total={STORM_TRIGGERS}",
        f"--keys={STORM_KEYS}",
        f"--clients={CONNECTIONS}",
    ]
    try:
        completed = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=STORM_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise BenchmarkError(f"the alert storm did not finish within {STORM_TIMEOUT_S} s") from error
    if completed.returncode != 0:
        raise BenchmarkError(f"the storm client exited with {completed.returncode}: {completed.stderr.strip()}")
    sent: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    log_problems = [line for line in ctx.server_log()[log_start:].splitlines() if LOG_PROBLEM.search(line)]
    # The storm's integration receives nothing else: all of its incidents and alerts are the storm's.
    totals = _totals(ctx, routing_key, "") or Totals(0, 0, 0, 0, 0)

    statuses = {int(status): count for status, count in sent["statuses"].items()}
    errors = {
        "socket": sent["socket_errors"],
        "status_5xx": sum(count for status, count in statuses.items() if status >= 500),
        # Anything but 202 (a 4xx, or a 2xx that is not PagerDuty's answer).
        "status_other": sum(count for status, count in statuses.items() if status < 500 and status != 202),
        "incidents": abs(totals.incidents - STORM_KEYS),
        "open_incidents": abs(totals.open_incidents - STORM_KEYS),
        "alert_count": abs(totals.alert_count - STORM_TRIGGERS),
        "alerts": abs(totals.alerts - STORM_KEYS),
        "occurrences": abs(totals.occurrences - STORM_TRIGGERS),
        "log": len(log_problems),
    }
    summary = (
        f"{name}: {sent['responses']:,} answers ({_statuses(statuses)}) in {sent['duration_s']:.1f} s, "
        f"{sent['socket_errors']} socket errors; {totals.incidents} incidents ({totals.open_incidents} open), "
        f"alert_count adds up to {totals.alert_count:,}; {totals.alerts} alerts with {totals.occurrences:,} "
        f"occurrences; {len(log_problems)} error lines in the server log"
    )
    _say(summary if not any(errors.values()) else f"FAILED {summary}")
    if sent["first_socket_error"]:
        _say(f"first socket error: {sent['first_socket_error']}")
    for line in log_problems[:10]:
        _say(f"server log: {line}")
    measurement = Measurement(
        requests=sent["responses"],
        duration_s=sent["duration_s"],
        p50_ms=sent["p50_ms"],
        p99_ms=sent["p99_ms"],
        errors=errors,
    )
    return Row(ctx.current_benchmark, name, "POST", PATH, measurement, baseline, completed.stdout)


def _totals(ctx: Context, routing_key: str, prefix: str) -> Totals | None:
    """None when no integration has this key."""
    with database.connect(ctx.server_env["DATABASE_URL"]) as connection:
        row = connection.execute(TOTALS_SQL, {"key": routing_key, "prefix": prefix}).fetchone()
    return None if row is None else Totals(*(int(value) for value in row))


def _trigger(routing_key: str, dedup_key: str) -> dict[str, Any]:
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {"summary": f"Benchmark alert {dedup_key}", "source": "bench.example.com", "severity": "critical"},
    }


def _statuses(statuses: dict[int, int]) -> str:
    return ", ".join(f"{count:,} x {status}" for status, count in sorted(statuses.items())) or "none"


def _say_targets(row: Row) -> None:
    ratio = row.ratio or 0.0
    p99 = row.measurement.p99_ms
    met = ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS
    _say(
        f"{row.name}: {ratio:.2f} x insert (target ≥ {TARGET_RATIO}), p99 {p99:.1f} ms "
        f"(target ≤ {TARGET_P99_MS:.0f} ms): {'met' if met else 'NOT met'}"
    )


def _say(message: str) -> None:
    print(f"bench: ingest: {message}", file=sys.stderr, flush=True)
