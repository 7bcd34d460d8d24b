"""End to end: `python -m bench yardstick` against real gunicorn, PostgreSQL and wrk."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from bench import database
from bench.server import REPO
from conftest import skip_or_fail

pytestmark = pytest.mark.slow


@pytest.fixture
def bench_database_url() -> Iterator[str]:
    """A database of its own, so the test never touches a developer's irp_bench or a parallel test's."""
    if shutil.which("wrk") is None:
        skip_or_fail("wrk is not installed (apt-get install wrk)")
    parts = urlsplit(database.database_url())
    url = urlunsplit(parts._replace(path=f"/irp_bench_test_{uuid.uuid4().hex[:8]}"))
    try:
        database.connect(url, dbname="postgres").close()
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL is not reachable for benchmarks: {error}")
    yield url
    database.drop_database(url)


def _start_bench(database_url: str, results_dir: Path, *, stdout: int | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "BENCH_DATABASE_URL": database_url, "BENCH_DURATION": "1"}
    command = [sys.executable, "-m", "bench", "yardstick", "--results-dir", str(results_dir)]
    return subprocess.Popen(command, cwd=REPO, env=env, text=True, stdout=stdout, stderr=subprocess.PIPE)


def _refuses_connections(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_yardstick_measures_and_inserts(bench_database_url: str, tmp_path: Path) -> None:
    runner = _start_bench(bench_database_url, tmp_path, stdout=subprocess.PIPE)
    stdout, stderr = runner.communicate(timeout=180)
    assert runner.returncode == 0, stderr

    [results_file] = tmp_path.glob("*.json")
    results = json.loads(results_file.read_text())
    rows = {row["name"]: row for row in results["rows"]}
    assert list(rows) == ["bare", "insert"]
    for row in rows.values():
        assert row["requests"] > 0
        assert row["requests_per_s"] > 0
        assert 0 < row["p50_ms"] <= row["p99_ms"]
        assert row["error_count"] == 0
        assert f"{row['name']}: {row['method']} {row['path']}" in stdout
    # A validated insert costs more than a bare response, every time.
    assert rows["insert"]["baseline"] == "yardstick/bare"
    assert 0 < rows["insert"]["ratio"] < 1

    # Each 201 wrk counted is a row; warm-up and the check request add a few more.
    with database.connect(bench_database_url) as connection:
        [(inserted,)] = connection.execute("SELECT count(*) FROM yardstick_yardstickrow").fetchall()
    assert inserted >= rows["insert"]["requests"]

    assert _refuses_connections(results["server"]["url"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_interrupt_stops_the_server(signum: int, bench_database_url: str, tmp_path: Path) -> None:
    runner = _start_bench(bench_database_url, tmp_path)
    try:
        server = _wait_for_load(runner)
        runner.send_signal(signum)
        assert runner.wait(timeout=60) == 130
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()

    pid, url = server
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _refuses_connections(url)
    assert not list(tmp_path.iterdir())


def _wait_for_load(runner: subprocess.Popen[str], timeout_s: float = 120) -> tuple[int, str]:
    """Read the runner's progress until measuring starts; returns gunicorn's pid and URL."""
    assert runner.stderr is not None
    # A hung runner is killed, which ends the loop below with EOF.
    watchdog = threading.Timer(timeout_s, runner.kill)
    watchdog.start()
    server: tuple[int, str] | None = None
    lines = []
    try:
        for line in runner.stderr:
            lines.append(line)
            if match := re.search(r"gunicorn \(pid (\d+),.*serving (\S+)", line):
                server = int(match[1]), match[2]
            if server and "running yardstick" in line:
                time.sleep(1)  # into the warm-up, with wrk and both workers busy
                return server
    finally:
        watchdog.cancel()
    pytest.fail("the runner never started measuring:\n" + "".join(lines))
