import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from irp_site.models import Heartbeat
from irp_site.services import heartbeat_record

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def beat(kind: Heartbeat.Kind, seconds_ago: float, instance: str = "host:1") -> None:
    heartbeat_record(kind, instance=instance, at=timezone.now() - timedelta(seconds=seconds_ago))


def test_healthy_when_the_database_answers_and_both_heartbeats_are_fresh(client: Client) -> None:
    beat(Heartbeat.Kind.WORKER, 1)
    beat(Heartbeat.Kind.ENGINE, 0.5)

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert 0.5 <= body["checks"]["worker"]["age_seconds"] < 5
    assert 0 <= body["checks"]["engine"]["age_seconds"] < 5


def test_a_stale_worker_heartbeat_is_a_503_naming_the_worker(client: Client) -> None:
    beat(Heartbeat.Kind.WORKER, 60)
    beat(Heartbeat.Kind.ENGINE, 1)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    assert "60 s ago" in response.json()["checks"]["worker"]["message"]


def test_the_freshest_of_several_engines_counts(client: Client) -> None:
    beat(Heartbeat.Kind.WORKER, 1)
    beat(Heartbeat.Kind.ENGINE, 3600, instance="old-host:7")
    beat(Heartbeat.Kind.ENGINE, 1, instance="new-host:9")

    assert client.get("/healthz").status_code == 200


def test_a_process_that_never_reported_is_a_503(client: Client) -> None:
    beat(Heartbeat.Kind.WORKER, 1)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["engine"]


def test_an_unreachable_database_is_a_503_naming_the_database() -> None:
    # A separate interpreter, pointed at a port where no database listens.
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz', secure=True);"
        "print(r.status_code, json.dumps(r.json()))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "irp_site.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/nothing",
        "DEBUG": "0",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().split(" ", 1)
    assert status == "503"
    assert '"failing": ["database"]' in body
