"""One run: fresh database, IRP under gunicorn, each benchmark module in turn, then the report."""

from __future__ import annotations

import importlib
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import psycopg

from bench import database, server
from bench.context import Context, Row
from bench.wrk import require_wrk

BENCH_DIR = Path(__file__).resolve().parent
# Listed first: the other benchmarks compare with it, and it is measured once per run.
FIRST = "yardstick"


class SetupError(RuntimeError):
    """Something the run needs is missing; nothing was measured."""


@dataclass
class RunResult:
    base_url: str
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    server_log_tail: str = ""


def available() -> list[str]:
    names = sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))
    return sorted(names, key=lambda name: name != FIRST)


def load(names: list[str]) -> dict[str, ModuleType]:
    unknown = [name for name in names if name not in available()]
    if unknown:
        raise SetupError(f"no such benchmark: {', '.join(unknown)} (available: {', '.join(available())})")
    return {name: importlib.import_module(f"bench.bench_{name}") for name in names}


def run(names: list[str], *, duration_s: float) -> RunResult:
    modules = load(names or available())
    try:
        require_wrk()
    except RuntimeError as error:
        raise SetupError(str(error)) from error
    url = database.database_url()
    try:
        database.recreate_database(url)
    except (psycopg.Error, ValueError) as error:
        raise SetupError(
            f"cannot create the bench database ({error}); is PostgreSQL running? Set BENCH_DATABASE_URL."
        ) from error

    with tempfile.TemporaryDirectory(prefix="irp-bench-") as workdir:
        log_path = Path(workdir) / "server.log"
        port = server.free_port()
        env = server.server_environment(database_url=url, port=port, static_root=Path(workdir) / "static")
        with log_path.open("w") as log:
            try:
                _say(f"preparing {url} (migrate, collectstatic)")
                server.prepare(env, log=log)
                with server.running_gunicorn(env, log=log) as gunicorn:
                    _say(f"gunicorn (pid {gunicorn.pid}, {server.WORKERS} workers) serving http://127.0.0.1:{port}")
                    context = Context(port=port, duration_s=duration_s, server_env=env, log=log)
                    result = _run_modules(modules, context)
            except server.ServerError as error:
                log.flush()
                raise SetupError(f"{error}\n--- server log (last lines) ---\n{_tail(log_path)}") from error
        if result.failures or any(row.measurement.error_count for row in result.rows):
            # The server's tracebacks would otherwise go with the temporary directory.
            result.server_log_tail = _tail(log_path, 60)
        return result


def _run_modules(modules: dict[str, ModuleType], context: Context) -> RunResult:
    result = RunResult(base_url=context.base_url)
    for name, module in modules.items():
        _say(f"running {name}")
        context.current_benchmark = name
        try:
            result.rows += [row for row in module.run(context) if row not in result.rows]
        except Exception:
            # One broken benchmark should not cost the others' figures.
            result.failures.append(f"{name}: {traceback.format_exc()}")
            _say(f"{name} failed:\n{traceback.format_exc()}")
    # Yardsticks a benchmark asked for, when the yardstick module itself was not selected.
    result.rows = [row for row in context.yardsticks if row not in result.rows] + result.rows
    return result


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
