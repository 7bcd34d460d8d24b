"""Run IRP's real processes (web, worker, engine) as subprocesses, for soak and crash tests.

The commands come from the Procfile, so a test runs exactly what production runs. Each process
gets its own session (process group) so that stopping it also reaches the children it forks
(gunicorn workers, django-q2 workers), and its own log file in the working directory. Several
processes of one kind run side by side under different labels (`engine`, `engine-2`), as
production scales out; `kill_process` crashes one (SIGKILL to its whole group, no shutdown).
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import requests

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROCFILE = PROJECT_DIR / "Procfile"
MANAGE_PY = PROJECT_DIR / "manage.py"
PROCESS_NAMES = ("web", "worker", "engine")
# If the test run itself is killed (a CI timeout), no teardown runs; the kernel then sends each
# process SIGTERM so it stops its own children instead of serving on. Linux only: it fires when
# the *thread* that started the process ends, so start processes from the main thread.
_SETPRIV = shutil.which("setpriv")
_DIE_WITH_PARENT = [_SETPRIV, "--pdeathsig", "TERM", "--"] if _SETPRIV else []


class ProcessError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def procfile_commands(procfile: Path = PROCFILE) -> dict[str, list[str]]:
    """The Procfile's commands, run with this interpreter and the tools installed beside it."""
    bin_dir = Path(sys.executable).parent
    commands: dict[str, list[str]] = {}
    for line in procfile.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        argv = shlex.split(command)
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        elif (bin_dir / argv[0]).exists():
            argv[0] = str(bin_dir / argv[0])
        commands[name.strip()] = argv
    return commands


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class IRPProcesses:
    """IRP's three processes on one database; use it as a context manager so they always stop."""

    def __init__(
        self,
        database_url: str,
        workdir: Path,
        *,
        web_concurrency: int = 4,
        web_threads: int = 4,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.commands = procfile_commands()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            **os.environ,
            # Tools installed beside this interpreter (gunicorn) come first.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": self.base_url,
            "BIND_ADDRESS": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(web_concurrency),
            "WEB_THREADS": str(web_threads),
            # Without it, a log is still in a pipe buffer when a process is killed.
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def logs(self) -> dict[str, str]:
        return {path.stem: path.read_text(errors="replace") for path in sorted(self.workdir.glob("*.log"))}

    def manage(self, *args: str, timeout: float = 120) -> str:
        """Run a management command against the same database; return its stdout."""
        result = subprocess.run(
            [sys.executable, str(MANAGE_PY), *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with self.log_path("manage").open("a") as log:
            log.write(f"$ manage.py {shlex.join(args)}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise ProcessError(f"manage.py {shlex.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def migrate(self) -> None:
        self.manage("migrate", "--noinput")

    def start_process(self, name: str, *, label: str | None = None) -> subprocess.Popen[bytes]:
        """Start the Procfile's `name` command as `label` (default: `name`), with a log of that name.

        Its PostgreSQL connections carry `application_name` `irp-<label>`, so a test can find
        them in `pg_stat_activity` (unless the environment sets PGAPPNAME itself).
        """
        label = label or name
        previous = self.processes.get(label)
        if previous is not None:
            if previous.poll() is None:
                raise ProcessError(f"{label} is already running (pid {previous.pid}); give the new one another label")
            # It died on its own; what it forked must not outlive it unseen.
            _kill_group(previous.pid)
        with self.log_path(label).open("ab") as log:
            process = subprocess.Popen(
                [*_DIE_WITH_PARENT, *self.commands[name]],
                cwd=PROJECT_DIR,
                env={"PGAPPNAME": f"irp-{label}", **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[label] = process
        return process

    def start(self) -> None:
        for name in PROCESS_NAMES:
            self.start_process(name)

    def healthz(self, timeout: float = 5) -> tuple[int, dict[str, Any]]:
        response = requests.get(f"{self.base_url}/healthz", timeout=timeout)
        return response.status_code, response.json()

    def wait_until_healthy(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: object = "no answer yet"
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise ProcessError(
                        f"{name} exited with {process.returncode} while starting:\n{_tail(self.log_path(name))}"
                    )
            try:
                status, body = self.healthz(timeout=2)
                if status == 200:
                    return body
                last = body
            except (requests.RequestException, ValueError) as error:
                last = error
            time.sleep(0.25)
        tails = "\n".join(f"--- {name}\n{_tail(self.log_path(name))}" for name in self.processes)
        raise ProcessError(f"/healthz not 200 after {timeout} s (last: {last}):\n{tails}")

    def stop_process(self, name: str, timeout: float = 15) -> int | None:
        """SIGTERM, then SIGKILL the whole process group; return the leader's exit code."""
        if name in self.processes:
            _terminate(self.processes[name])
        return self._reap(name, time.monotonic() + timeout)

    def kill_process(self, label: str, timeout: float = 10) -> int | None:
        """Crash `label` and every process it forked: SIGKILL to the group, no chance to clean up."""
        process = self.processes.get(label)
        if process is None:
            return None
        _kill_group(process.pid)
        return self._reap(label, time.monotonic() + timeout)

    def stop(self, timeout: float = 15) -> dict[str, int | None]:
        # Signal all first so their shutdowns overlap, then collect each one.
        for process in self.processes.values():
            _terminate(process)
        deadline = time.monotonic() + timeout
        return {name: self._reap(name, deadline) for name in list(self.processes)}

    def _reap(self, name: str, deadline: float) -> int | None:
        process = self.processes.pop(name, None)
        if process is None:
            return None
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait(10)
        # A child that outlived its parent (a forked worker) would still hold the database open.
        _kill_group(process.pid)
        return process.returncode

    def __enter__(self) -> IRPProcesses:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)


def _kill_group(pgid: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@contextmanager
def running_irp(
    database_url: str,
    workdir: Path,
    *,
    web_concurrency: int = 4,
    web_threads: int = 4,
    env: Mapping[str, str] | None = None,
    ready_timeout: float = 60,
) -> Iterator[IRPProcesses]:
    """Migrate, start web, worker and engine, wait for a healthy /healthz; stop them all on exit."""
    irp = IRPProcesses(database_url, workdir, web_concurrency=web_concurrency, web_threads=web_threads, env=env)
    with irp:
        irp.migrate()
        irp.start()
        irp.wait_until_healthy(ready_timeout)
        yield irp
