"""A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) sends to IRP unchanged.

Alertmanager runs as a subprocess on 127.0.0.1 with a generated configuration. One route sends each
group to two receivers: its webhook (IRP's `alertmanager` integration) and its PagerDuty Events v2
notifier pointed at IRP's `/v2/enqueue` (a `pagerduty` integration). Alerts go in through
Alertmanager's own API, so everything IRP receives is exactly what Alertmanager sends.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from conftest import skip_or_fail
from incidents.models import Alert, Incident, Integration
from incidents.tests.factories import make_integration, make_service
from irp_site.testing.processes import free_port

ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
ALERT_NAME = "IRPTestOrdersDiskFull"
TEST_LABEL = ("irp_test", "real-alertmanager")
# How long IRP may take to see what Alertmanager sends (group_wait is 1 s; it normally takes ~1-2 s).
DELIVERY_TIMEOUT = 20.0
# If pytest itself is killed, the kernel sends Alertmanager SIGTERM (as irp_site/testing/processes.py does).
_SETPRIV = shutil.which("setpriv")
_DIE_WITH_PARENT = [_SETPRIV, "--pdeathsig", "TERM", "--"] if _SETPRIV else []
# Alertmanager's own words when a notification fails (notify/notify.go), or any warning or error at all.
NOTIFY_FAILURES = re.compile(r"level=(warn|error)|Notify for alerts failed|Notify attempt failed", re.IGNORECASE)

T = TypeVar("T")


def alertmanager_config(*, webhook_url: str, enqueue_url: str, routing_key: str) -> str:
    """A configuration whose one group goes to both receivers; YAML reads JSON, so no YAML writer is needed."""
    name, value = TEST_LABEL
    timers = {"group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s", "repeat_interval": "4h"}
    config = {
        "route": {
            "receiver": "irp-webhook",
            **timers,
            "routes": [
                # Same matchers, so both receivers see the same group key.
                {"receiver": "irp-webhook", "matchers": [f'{name}="{value}"'], "continue": True},
                {"receiver": "irp-pagerduty", "matchers": [f'{name}="{value}"']},
            ],
        },
        "receivers": [
            {"name": "irp-webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]},
            {
                "name": "irp-pagerduty",
                "pagerduty_configs": [
                    {
                        "url": enqueue_url,
                        "routing_key": routing_key,
                        "send_resolved": True,
                        # Alertmanager sends 'error' unless told; the usual setting passes the alerts' own.
                        "severity": "{{ .CommonLabels.severity }}",
                    }
                ],
            },
        ],
    }
    return json.dumps(config, indent=2)


class RunningAlertmanager:
    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
        self.process = process
        self.base_url = base_url
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = requests.post(f"{self.base_url}/api/v2/alerts", json=alerts, timeout=5)
        assert response.status_code == 200, response.text

    def fingerprints(self) -> dict[str, str]:
        """Alertmanager's fingerprint of each alert it holds, by its `instance` label."""
        response = requests.get(f"{self.base_url}/api/v2/alerts", timeout=5)
        response.raise_for_status()
        return {alert["labels"]["instance"]: alert["fingerprint"] for alert in response.json()}


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL, its whole process group; always reaped."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(10)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _start(config_path: Path, workdir: Path, log_path: Path) -> RunningAlertmanager | None:
    """Start Alertmanager and wait until it is ready; None if its port was taken in the meantime."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    storage = workdir / "data"
    storage.mkdir(exist_ok=True)
    argv = [
        *_DIE_WITH_PARENT,
        str(ALERTMANAGER),
        f"--config.file={config_path}",
        f"--storage.path={storage}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url={base_url}/",
        "--cluster.listen-address=",  # no gossip: nothing listens beyond the one port above
        "--log.level=debug",  # so that each successful notification is logged too
    ]
    # Proxies are for the outside world; everything here is on 127.0.0.1.
    env = {name: value for name, value in os.environ.items() if "proxy" not in name.lower()}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = RunningAlertmanager(process, base_url, log_path)
    deadline = time.monotonic() + 15
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                if "address already in use" in running.log():
                    return None
                pytest.fail(f"Alertmanager exited with {process.returncode} while starting:\n{running.log()}")
            with suppress(requests.RequestException):
                if requests.get(f"{base_url}/-/ready", timeout=1).status_code == 200:
                    return running
            time.sleep(0.1)
        pytest.fail(f"Alertmanager was not ready within 15 s:\n{running.log()}")
    except BaseException:
        _stop(process)
        raise


@contextmanager
def running_alertmanager(config: str, workdir: Path) -> Iterator[RunningAlertmanager]:
    """Alertmanager on a free 127.0.0.1 port with its own storage; stopped on exit, whatever happens."""
    config_path = workdir / "alertmanager.yml"
    config_path.write_text(config)
    log_path = workdir / "alertmanager.log"
    for _ in range(3):
        running = _start(config_path, workdir, log_path)
        if running is not None:
            break
    else:
        pytest.fail(f"Alertmanager found no free port in three tries:\n{log_path.read_text(errors='replace')}")
    try:
        yield running
    finally:
        _stop(running.process)


@contextmanager
def one_request_at_a_time(live_server: Any) -> Iterator[threading.Lock]:
    """A lock to hold while the test reads the database; the live server takes it for each request.

    On PostgreSQL every thread has its own connection and this changes nothing. On SQLite the test
    database is in memory and pytest-django shares the test's one connection with the live server's
    request threads; Alertmanager's two receivers send at the same moment, and two requests on one
    connection collide ("cannot start a transaction within a transaction"). A deployed IRP gives each
    thread its own connection and SQLite's busy timeout queues the writers, as this lock does here.
    """
    lock = threading.Lock()
    if not live_server.thread.connections_override:  # what pytest-django shares: in-memory SQLite only
        yield lock
        return
    server = live_server.thread.httpd
    application = server.get_app()

    def in_turn(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            response = application(environ, start_response)
            try:
                return list(response)
            finally:
                if hasattr(response, "close"):
                    response.close()

    server.set_app(in_turn)
    try:
        yield lock
    finally:
        server.set_app(application)


def group_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_for(condition: Callable[[], T | None], what: str, describe: Callable[[], str], turn: threading.Lock) -> T:
    """Poll until `condition` returns something (bounded); on timeout fail with `describe()`."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        with turn:
            result = condition()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"IRP never saw {what} within {DELIVERY_TIMEOUT:.0f} s.\n{describe()}")
        time.sleep(0.2)


def irp_state() -> str:
    rows = [
        f"incident #{incident.pk} {incident.status} {incident.dedup_key!r} via {incident.integration}: "
        + ", ".join(f"{alert.key}={alert.status}" for alert in incident.alerts.all())
        for incident in Incident.objects.order_by("pk")
    ]
    return "IRP's incidents:\n" + ("\n".join(rows) or "(none)")


def alert_body(instance: str, *, starts_at: datetime, ends_at: datetime | None = None) -> dict[str, Any]:
    name, value = TEST_LABEL
    body: dict[str, Any] = {
        "labels": {
            "alertname": ALERT_NAME,
            "instance": instance,
            "job": "orders-db",
            "severity": "critical",
            name: value,
        },
        "annotations": {"summary": f"Disk 97% full on {instance}", "runbook": "https://runbooks.example/disk"},
        "startsAt": starts_at.isoformat(),
        "generatorURL": f"http://prometheus.example/graph?g0.expr=disk_full%7Binstance%3D%22{instance}%22%7D",
    }
    if ends_at is not None:
        body["endsAt"] = ends_at.isoformat()
    return body


def firing_incident(integration: Integration, *, alerts: int) -> Incident | None:
    """The integration's only incident, once it is open with `alerts` firing alerts."""
    incidents = list(Incident.objects.filter(integration=integration))
    if len(incidents) != 1 or not incidents[0].is_open:
        return None
    firing = incidents[0].alerts.filter(status=Alert.Status.FIRING).count()
    return incidents[0] if firing == alerts else None


def resolved(incident: Incident) -> Incident | None:
    incident.refresh_from_db()
    return incident if incident.status == Incident.Status.RESOLVED else None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("migrated_data")
def test_a_real_alertmanager_opens_and_resolves_irp_incidents_by_webhook_and_pagerduty(
    live_server: Any, tmp_path: Path
) -> None:
    if not ALERTMANAGER.exists():
        skip_or_fail(
            f"Prometheus Alertmanager is not installed at {ALERTMANAGER} (apt-get install prometheus-alertmanager)"
        )
    # The live server binds IPv4 (Django's WSGIServer); name the address, so nothing resolves `localhost`.
    irp = str(live_server.url).replace("://localhost:", "://127.0.0.1:")
    webhook = make_integration(Integration.Kind.ALERTMANAGER, service=make_service("Orders DB"), name="Alertmanager")
    pagerduty = make_integration(
        Integration.Kind.PAGERDUTY, service=make_service("Orders DB (PagerDuty)"), name="Alertmanager via PagerDuty"
    )
    config = alertmanager_config(
        webhook_url=f"{irp}/integrations/{webhook.key}/alerts",
        enqueue_url=f"{irp}/v2/enqueue",
        routing_key=pagerduty.key,
    )

    with one_request_at_a_time(live_server) as turn, running_alertmanager(config, tmp_path) as alertmanager:

        def describe() -> str:
            return f"{irp_state()}\nAlertmanager's log:\n{alertmanager.log()}"

        # Two alerts of one group (same alertname), told apart by their labels. They start now: an alert
        # that started more than group_wait ago is flushed at once, perhaps before its sibling has arrived.
        starts_at = datetime.now(UTC)
        alertmanager.post_alerts([alert_body(instance, starts_at=starts_at) for instance in ("db-1", "db-2")])
        fingerprints = alertmanager.fingerprints()
        assert sorted(fingerprints) == ["db-1", "db-2"]
        assert len(set(fingerprints.values())) == 2

        incident = wait_for(
            lambda: firing_incident(webhook, alerts=2), "one incident with two firing alerts", describe, turn
        )
        paged = wait_for(lambda: firing_incident(pagerduty, alerts=1), "the PagerDuty event's incident", describe, turn)

        # The webhook path: one incident per group key, one alert per Alertmanager fingerprint.
        assert incident.service == webhook.service
        assert incident.title == "Disk 97% full on db-1"
        assert incident.severity.name == "P1"  # from the alerts' `severity: critical` label
        assert incident.dedup_key.endswith(f'{{alertname="{ALERT_NAME}"}}')
        assert incident.started_at == starts_at
        alerts = {alert.labels["instance"]: alert for alert in incident.alerts.all()}
        assert {instance: alert.key for instance, alert in alerts.items()} == fingerprints
        first = alerts["db-1"]
        assert first.summary == "Disk 97% full on db-1"
        assert first.severity == Alert.Severity.CRITICAL
        assert first.source == "db-1"
        assert first.details["group"]["groupKey"] == incident.dedup_key
        assert first.details["group"]["receiver"] == "irp-webhook"
        assert first.details["annotations"]["runbook"] == "https://runbooks.example/disk"
        assert first.links == [
            {"href": alert_body("db-1", starts_at=starts_at)["generatorURL"], "text": "Source"},
            {"href": alertmanager.base_url, "text": "Alertmanager"},
        ]

        # The PagerDuty path: Alertmanager's dedup_key is the SHA-256 of the same group key.
        assert paged.service == pagerduty.service
        assert paged.dedup_key == hashlib.sha256(incident.dedup_key.encode()).hexdigest()
        assert paged.alert_count == 1  # one trigger for the group, not one per alert
        assert paged.severity.name == "P1"  # the templated `severity` arrived as PagerDuty's 'critical'
        event = paged.alerts.get()
        assert event.summary.startswith(f"[FIRING:2] {ALERT_NAME}")
        assert event.source == "Alertmanager"
        assert event.details["num_firing"] == "2"
        assert "Disk 97% full on db-2" in event.details["firing"]

        # Both alerts end (in the past): Alertmanager sends the resolved group to both receivers.
        ends_at = datetime.now(UTC) - timedelta(milliseconds=200)
        assert ends_at > starts_at  # else Alertmanager refuses them (it takes group_wait, 1 s, to get here)
        alertmanager.post_alerts(
            [alert_body(instance, starts_at=starts_at, ends_at=ends_at) for instance in ("db-1", "db-2")]
        )
        wait_for(lambda: resolved(incident), "the webhook incident resolved", describe, turn)
        wait_for(lambda: resolved(paged), "the PagerDuty incident resolved", describe, turn)
        # One more group_interval and then some: nothing else arrives (no new incident, no re-trigger).
        time.sleep(2.5)
        log = alertmanager.log()

    assert alertmanager.process.returncode is not None
    assert group_is_gone(alertmanager.process.pid), "Alertmanager (or a child) outlived the test"

    assert Incident.objects.filter(integration__in=[webhook, pagerduty]).count() == 2
    assert Incident.objects.count() == 2
    assert set(incident.alerts.values_list("status", flat=True)) == {Alert.Status.RESOLVED}
    assert paged.alerts.get().status == Alert.Status.RESOLVED
    incident.refresh_from_db()
    paged.refresh_from_db()
    assert incident.status == paged.status == Incident.Status.RESOLVED
    assert paged.alert_count == 1  # the resolve did not count as another trigger
    assert incident.resolved_at is not None
    assert paged.resolved_at is not None

    # Alertmanager's side of the story: every notification succeeded, none failed or was retried.
    failures = [line for line in log.splitlines() if NOTIFY_FAILURES.search(line)]
    assert failures == [], "\n".join(failures)
    successes = [line for line in log.splitlines() if 'msg="Notify success"' in line]
    assert sum("integration=webhook[0]" in line for line in successes) == 2, log  # firing, then resolved
    assert sum("integration=pagerduty[0]" in line for line in successes) == 2, log
