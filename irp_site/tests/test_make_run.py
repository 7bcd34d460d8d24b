"""`make run` from a fresh copy of the repository: the newcomer's first command, end to end."""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_copy(destination: Path) -> None:
    """What a clone would hold (tracked files plus new, unignored ones), sharing the installed venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)  # keeps mtimes, so make sees the venv as up to date
    (destination / ".venv").symlink_to(ROOT / ".venv")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, list[str], subprocess.Popen[str], Path]]:
    if not (ROOT / ".venv" / "bin" / ".installed").exists():
        pytest.skip("run `make install` first; this test reuses the installed virtualenv")
    checkout = tmp_path / "irp"
    fresh_copy(checkout)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DEBUG", "SECRET_KEY"}}
    env["PORT"] = str(port)
    process = subprocess.Popen(
        ["make", "run"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal would give it
    )
    lines: list[str] = []
    # Drain the output all the time: a full pipe would block honcho and with it every process.
    output = process.stdout
    assert output is not None
    threading.Thread(target=lambda: lines.extend(iter(output.readline, "")), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}", lines, process, checkout
    finally:
        stop_everything(process, checkout)
        assert not (checkout / ".venv" / "bin").is_symlink()  # sanity: we never replaced the real venv


def processes_in(checkout: Path) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if Path(os.readlink(proc / "cwd")).is_relative_to(checkout):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def stop_everything(process: subprocess.Popen[str], checkout: Path) -> None:
    """Also after a failure: honcho starts each process in a session of its own, so killing make's
    group alone would leave web, worker and engine running."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)  # honcho stops its children on Ctrl-C
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    for pid in processes_in(checkout):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def read_until(lines: list[str], pattern: str, deadline: float) -> re.Match[str]:
    while time.monotonic() < deadline:
        for line in list(lines):
            found = re.search(pattern, line)
            if found:
                return found
        time.sleep(0.2)
    raise AssertionError(f"never printed {pattern!r}:\n{''.join(lines)}")


@pytest.mark.slow
def test_make_run_serves_the_demo_and_stops_on_ctrl_c(
    running: tuple[str, list[str], subprocess.Popen[str], Path],
) -> None:
    base, lines, process, checkout = running
    deadline = time.monotonic() + STARTUP_SECONDS

    login = read_until(lines, r"Sign in as (\S+) / (\S+)", deadline)
    username, password = login.group(1), login.group(2)
    health = None
    while time.monotonic() < deadline:
        try:
            health = requests.get(f"{base}/healthz", timeout=10)
            if health.status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or still booting its workers
            pass
        time.sleep(0.5)
    assert health is not None, "".join(lines)
    assert health.status_code == 200, "".join(lines)
    checks = health.json()["checks"]
    assert checks["worker"]["age_seconds"] < 5
    assert checks["engine"]["age_seconds"] < 5

    session = requests.Session()
    form = session.get(f"{base}/accounts/login/", timeout=5)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token
    plan = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1), "next": ""},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=10,
    )
    assert plan.url == f"{base}/plan/"
    assert "Incident response plan — Acme" in plan.text
    for level, ack in (("P1", "5 min"), ("P2", "15 min"), ("P3", "30 min")):
        row = re.search(rf'<tr id="severity-{level}">.*?data-field="ack">([^<]*)<', plan.text, re.S)
        assert row
        assert row.group(1) == ack

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    process.wait(timeout=30)
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    assert processes_in(checkout) == []  # nothing of web, worker or engine is left running
