"""Accepting an alert depends on the web process and the database only."""

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from irp_site.testing.processes import IRPProcesses

SETUP = """
from incidents.models import Integration, Service
from oncall.models import Team
team = Team.objects.create(name="Ops")
service = Service.objects.create(name="Checkout API", owner_team=team)
print(Integration.objects.create(name="PD", service=service, kind="pagerduty").key)
"""


@pytest.mark.slow
def test_alerts_are_accepted_and_stored_with_no_worker_and_no_engine(tmp_path: Path) -> None:
    database = tmp_path / "irp.sqlite3"
    with IRPProcesses(f"sqlite:///{database}", tmp_path / "run", web_concurrency=1, web_threads=1) as irp:
        irp.migrate()
        key = irp.manage("shell", "-c", SETUP).strip().splitlines()[-1]
        irp.start_process("web")  # only the web process: no worker, no engine
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = irp.healthz()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, irp.logs()
                time.sleep(0.2)
        assert status == 503
        assert sorted(body["failing"]) == ["engine", "worker"]

        event: dict[str, Any] = {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": "durable",
            "payload": {"summary": "Stored without a worker", "source": "test", "severity": "critical"},
        }
        response = requests.post(f"{irp.base_url}/v2/enqueue", json=event, timeout=10)
        assert response.status_code == 202
        irp.stop()

        # Read back with a fresh process after the web server is gone: the alert is on disk.
        stored = irp.manage(
            "shell",
            "-c",
            "from incidents.models import Alert; a = Alert.objects.get(); print(a.key, a.incident.status)",
        )
        assert stored.strip().splitlines()[-1] == "durable triggered"
