"""The public status page under a refresh storm: `/status/` and `summary.json` with 64 connections.

The page is seeded as a busy one: 50 components in 5 groups and 10,000 resolved public incidents
over the last 90 days (about 15,000 component impacts), plus one open incident. Then:

- **uptime bars**: the background job that computes the 90-day bars is timed once (printed; it
  is never run by a request).
- **page / summary.json, quiet**: wrk with 64 connections (twice bench/wrk.py's 32), sending
  `Accept-Encoding: gzip` as browsers and CDNs do, compared with the yardstick's bare view
  (`/bench/bare`) loaded the same way in alternating slices (see `_paired`): each row comes after
  its own "bare N" row, and its ratio is to that row. Target (issue 7): at least 0.8.
- **page / summary.json, updated every second**: the same while another process posts an update
  to the open incident every second, so every answer's cache entry goes stale once a second.
  The number of updates posted is printed; the target is the same.
"""

from __future__ import annotations

import itertools
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.context import WARMUP_S, BenchmarkError, Context, Row
from bench.server import REPO
from bench.wrk import SCRIPT, THREADS, Measurement, WrkError, parse_output, require_wrk

CONNECTIONS = 64
TARGET_RATIO = 0.8
# Alternating slices per measurement (see _paired).
SLICES = 5
_pair_numbers = itertools.count(1)
COMPONENTS = 50
GROUPS = 5
INCIDENTS = 10_000
DAYS = 90

SEED_CODE = """
import random
from datetime import timedelta
from django.utils import timezone
from incidents.models.status import (
    AffectedComponent, Component, ComponentGroup, PublicIncident, PublicIncidentUpdate, new_public_id,
)
from incidents.services.statuspage import public_incident_publish, status_config_changed

random.seed(7)
now = timezone.now()
groups = ComponentGroup.objects.bulk_create(
    [ComponentGroup(name=f"Area {{n}}", position=n, public_id=new_public_id()) for n in range({groups})]
)
components = Component.objects.bulk_create(
    [
        Component(name=f"Component {{n}}", group=groups[n % {groups}], position=n, public_id=new_public_id(),
                  created_at=now - timedelta(days=120))
        for n in range({components})
    ]
)
incidents, updates, impacts = [], [], []
statuses = ["degraded_performance", "partial_outage", "major_outage"]
for n in range({incidents}):
    started = now - timedelta(days=random.uniform(0, {days}))
    resolved = min(now - timedelta(minutes=1), started + timedelta(minutes=random.randint(5, 600)))
    incidents.append(PublicIncident(
        name=f"Incident {{n}}", status="resolved", impact=random.choice(["minor", "major", "critical"]),
        created_at=started, updated_at=resolved, started_at=started, resolved_at=resolved,
        public_id=new_public_id(),
    ))
PublicIncident.objects.bulk_create(incidents, batch_size=2000)
for incident in incidents:
    for status, at in (("investigating", incident.started_at), ("resolved", incident.resolved_at)):
        updates.append(PublicIncidentUpdate(public_incident=incident, status=status, body="Text.", created_at=at,
                                            public_id=new_public_id()))
    for component in random.sample(components, random.choice([1, 1, 2])):
        status = random.choice(statuses)
        impacts.append(AffectedComponent(public_incident=incident, component=component, status="operational",
                                         worst_status=status))
PublicIncidentUpdate.objects.bulk_create(updates, batch_size=2000)
AffectedComponent.objects.bulk_create(impacts, batch_size=2000)
status_config_changed()
public_incident_publish_target = PublicIncident.objects.create(name="{open_name}", impact="minor")
PublicIncidentUpdate.objects.create(public_incident=public_incident_publish_target, status="investigating",
                                    body="Looking into it.")
AffectedComponent.objects.create(public_incident=public_incident_publish_target, component=components[0],
                                 status="degraded_performance", worst_status="degraded_performance")
status_config_changed()
print("seeded", PublicIncident.objects.count(), AffectedComponent.objects.count())
"""

BARS_CODE = """
import time
from incidents.status_tasks import uptime_bars_compute
started = time.monotonic()
changed = uptime_bars_compute()
print(f"BARS {{changed}} {{time.monotonic() - started:.3f}}")
"""

UPDATER_CODE = """
import itertools, sys, time
from incidents.models.status import PublicIncident
from incidents.services.statuspage import public_incident_update

public = PublicIncident.objects.get(name="{open_name}")
cycle = itertools.cycle(["identified", "monitoring", "investigating"])
for number in itertools.count(1):
    started = time.monotonic()
    public.refresh_from_db()
    public_incident_update(public, actor=None, status=next(cycle), body=f"Update {{number}}.")
    print("UPDATED", number, flush=True)
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
"""


def run(ctx: Context) -> list[Row]:
    bare = ctx.yardstick_bare()
    open_name = f"bench-open-{secrets.token_hex(4)}"
    _shell(
        ctx,
        SEED_CODE.format(groups=GROUPS, components=COMPONENTS, incidents=INCIDENTS, days=DAYS, open_name=open_name),
    )
    output = _shell(ctx, BARS_CODE.format())
    line = next((text for text in output.splitlines() if text.startswith("BARS ")), "")
    if line:
        _, changed, seconds = line.split()
        _say(
            f"uptime bars for {COMPONENTS} components and {INCIDENTS:,} incidents: "
            f"{seconds} s in the job ({changed} written)"
        )
    rows: list[Row] = []
    for name, path in (("page", "/status/"), ("summary.json", "/status/api/v2/summary.json")):
        rows += _paired(ctx, f"{name}, quiet", path, yardstick=bare)
    with _updating(ctx, open_name) as updates:
        for name, path in (("page", "/status/"), ("summary.json", "/status/api/v2/summary.json")):
            before = len(updates)
            rows += _paired(ctx, f"{name}, updated every second", path, yardstick=bare)
            _say(f"{name}, updated every second: {len(updates) - before} updates posted during the measurement")
    for row in rows[1::2]:
        ratio = row.ratio or 0.0
        verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
        _say(f"{row.name}: {ratio:.2f} x the bare view, interleaved (target ≥ {TARGET_RATIO}): {verdict}")
    return rows


def _shell(ctx: Context, code: str) -> str:
    completed = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "--command", code],
        cwd=REPO,
        env=ctx.server_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"setting up the status page failed:\n{completed.stderr[-3000:]}")
    return completed.stdout


@contextmanager
def _updating(ctx: Context, open_name: str) -> Iterator[list[str]]:
    """Another process posts an update to the open incident every second; yields the lines it printed."""
    updater = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "--command", UPDATER_CODE.format(open_name=open_name)],
        cwd=REPO,
        env=ctx.server_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert updater.stdout is not None
        for line in updater.stdout:
            if line.startswith("UPDATED"):
                lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not lines:
            if updater.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError("the updater process posted no update")
            time.sleep(0.1)
        yield lines
    finally:
        updater.terminate()
        try:
            updater.wait(timeout=15)
        except subprocess.TimeoutExpired:
            updater.kill()
            updater.wait()
        reader.join(timeout=5)


def _paired(ctx: Context, name: str, path: str, *, yardstick: Row) -> list[Row]:
    """The yardstick's bare view and `path` in alternating slices, so both see the same machine.

    Other work on a shared machine comes and goes within seconds; back-to-back measurements of
    10 s each can differ by half for that alone. SLICES alternating slices of each, added up,
    cancel that drift. Returns the bare row (compared with the yardstick) and the path's row
    (compared with that bare row).
    """
    status, content = ctx.request("GET", path)
    if status != 200:
        raise BenchmarkError(f"GET {path} answered {status}: {content[:300]!r}")
    slice_s = max(1.0, ctx.duration_s / SLICES)
    bare_url, url = ctx.base_url + "/bench/bare", ctx.base_url + path
    _run_wrk(url, duration_s=WARMUP_S)
    bare_parts: list[tuple[Measurement, str]] = []
    parts: list[tuple[Measurement, str]] = []
    for _ in range(SLICES):
        bare_parts.append(_run_wrk(bare_url, duration_s=slice_s))
        parts.append(_run_wrk(url, duration_s=slice_s))
    bare_measured, bare_output = _added(bare_parts)
    # Short names: the report prints the baseline's name beside every ratio ("0.9 x bare 2").
    bare_name = f"bare {next(_pair_numbers)}"
    bare = Row(ctx.current_benchmark, bare_name, "GET", "/bench/bare", bare_measured, yardstick, bare_output)
    measured, output = _added(parts)
    return [bare, Row(ctx.current_benchmark, name, "GET", path, measured, bare, output)]


def _added(parts: list[tuple[Measurement, str]]) -> tuple[Measurement, str]:
    """Slices as one measurement: requests and time added, the median p50, the worst p99."""
    errors: dict[str, int] = {}
    for measurement, _ in parts:
        for kind, count in measurement.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    measurements = [measurement for measurement, _ in parts]
    return (
        Measurement(
            requests=sum(m.requests for m in measurements),
            duration_s=sum(m.duration_s for m in measurements),
            p50_ms=statistics.median(m.p50_ms for m in measurements),
            p99_ms=max(m.p99_ms for m in measurements),
            errors=errors,
        ),
        "\n".join(output for _, output in parts),
    )


def _run_wrk(url: str, *, duration_s: float) -> tuple[Measurement, str]:
    """bench/wrk.py's run, with 64 connections instead of 32."""
    if not url.startswith("http://127.0.0.1:"):
        raise WrkError(f"benchmarks only ever target 127.0.0.1, not {url}")
    command = [
        require_wrk(),
        f"--threads={THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={max(1, round(duration_s))}s",
        "--latency",
        f"--script={SCRIPT}",
        # As browsers and CDNs ask: large answers go gzipped (compressed once per version).
        "--header",
        "Accept-Encoding: gzip, deflate, br",
        url,
    ]
    env = {**os.environ, "BENCH_METHOD": "GET", "BENCH_BODY": ""}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}: {completed.stderr.strip()}")
    return parse_output(completed.stdout), completed.stdout


def _say(message: str) -> None:
    print(f"bench: status: {message}", file=sys.stderr, flush=True)
