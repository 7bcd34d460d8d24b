"""The server under test: IRP's own gunicorn config and middleware, plus the yardstick app."""

from __future__ import annotations

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent
# As measured in ../shared/FACTS.md: one sync worker per core.
WORKERS = 2
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15


class ServerError(RuntimeError):
    pass


def server_environment(*, database_url: str, port: int, static_root: Path) -> dict[str, str]:
    """Production-like settings, except plain HTTP: wrk speaks no TLS."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CONN_MAX_AGE": "60",
        "BIND_ADDRESS": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(WORKERS),
        "WEB_THREADS": "1",
        # A log line per request would be measured along with the request.
        "WEB_ACCESS_LOG": "",
        "LOG_LEVEL": "WARNING",
        "BENCH_STATIC_ROOT": str(static_root),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def manage(env: dict[str, str], *args: str, log: IO[str]) -> None:
    """Run a management command against the bench database and settings."""
    completed = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
    )
    if completed.returncode != 0:
        raise ServerError(f"manage.py {' '.join(args)} exited with {completed.returncode}")


def prepare(env: dict[str, str], *, log: IO[str]) -> None:
    """Migrate the fresh database while static files are collected (the manifest storage needs them)."""
    collect = subprocess.Popen(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # The database is thrown away after the run, so its migrations need no durable commits:
        # this cuts migrate from ~9 s to ~2 s. The server itself keeps PostgreSQL's defaults.
        manage({**env, "PGOPTIONS": "-c synchronous_commit=off"}, "migrate", "--noinput", "--verbosity=0", log=log)
        if collect.wait() != 0:
            raise ServerError(f"manage.py collectstatic exited with {collect.returncode}")
    finally:
        if collect.poll() is None:
            collect.kill()
            collect.wait()


@contextmanager
def running_gunicorn(env: dict[str, str], *, log: IO[str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start gunicorn as the Procfile does, wait until it answers, and always stop it."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "irp_site.wsgi", "--config", "python:irp_site.gunicorn_conf"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own session: a terminal's Ctrl-C reaches only the runner, which then stops it in order.
        start_new_session=True,
    )
    try:
        _wait_until_ready(server, port=int(env["PORT"]))
        yield server
    finally:
        _stop(server)


def _wait_until_ready(server: subprocess.Popen[bytes], *, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ServerError(f"gunicorn exited with {server.returncode} before answering")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/bench/bare")
            status = connection.getresponse().status
        except OSError:
            time.sleep(0.2)
            continue
        finally:
            connection.close()
        if status != 200:
            raise ServerError(f"gunicorn answers GET /bench/bare with {status}, not 200")
        return
    raise ServerError(f"gunicorn did not answer within {READY_TIMEOUT_S} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()  # gunicorn's graceful shutdown: workers finish their request, then exit
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=STOP_TIMEOUT_S)
    # Whatever is left in gunicorn's session (a stuck master, an orphaned worker) is ours to end.
    with suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()
