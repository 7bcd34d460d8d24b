"""Drive wrk, the load generator, in its own process and read its numbers back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

# Fixed so every figure is comparable with the others and with ../shared/FACTS.md.
CONNECTIONS = 32
THREADS = 2
SCRIPT = Path(__file__).with_name("wrk.lua")
RESULT_PREFIX = "BENCH_RESULT "


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True)
class Measurement:
    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    # Socket errors by kind, plus "status": responses >= 400.
    errors: dict[str, int]

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "requests_per_s": round(self.requests_per_s, 1), "error_count": self.error_count}


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkError("wrk is not on PATH; install it with `apt-get install wrk` (Debian/Ubuntu).")
    return path


def run_wrk(
    url: str,
    *,
    duration_s: float,
    method: str = "GET",
    body: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[Measurement, str]:
    """Load `url` for `duration_s` seconds; returns the measurement and wrk's own text summary."""
    if not url.startswith("http://127.0.0.1:"):
        raise WrkError(f"benchmarks only ever target 127.0.0.1, not {url}")
    command = [
        require_wrk(),
        f"--threads={THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={max(1, round(duration_s))}s",
        "--latency",
        f"--script={SCRIPT}",
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command.append(url)
    env = {**os.environ, "BENCH_METHOD": method, "BENCH_BODY": body}
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    if completed.returncode != 0:
        raise WrkError(f"wrk exited with {completed.returncode}: {completed.stderr.strip()}")
    return parse_output(completed.stdout), completed.stdout


def parse_output(output: str) -> Measurement:
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        raise WrkError(f"wrk printed no {RESULT_PREFIX.strip()} line:\n{output}")
    raw = json.loads(lines[-1].removeprefix(RESULT_PREFIX))
    return Measurement(
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors={kind: raw[kind] for kind in ("connect", "read", "write", "timeout", "status")},
    )
