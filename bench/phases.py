"""Running a benchmark's set-up or measuring phase in a child process with the server's settings."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from bench.context import BenchmarkError, Context
from bench.server import REPO


def phase_run(ctx: Context, module: str, phase: str, *, timeout_s: float) -> tuple[dict[str, Any], float]:
    """Run `python -m <module> <phase>` against the bench database; returns the JSON object it
    printed last and the seconds it took."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", module, phase],
        cwd=REPO,
        env=ctx.server_env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"the {phase} phase exited with {completed.returncode}:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result, time.perf_counter() - started
