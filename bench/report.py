"""The run's results: a plain-text table for people, a JSON file for later comparison."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.context import Row
from bench.runner import RunResult
from bench.server import REPO, WORKERS
from bench.wrk import CONNECTIONS, THREADS

DEFAULT_RESULTS_DIR = REPO / "bench" / "results"
COLUMNS = ("benchmark", "measurement", "requests/s", "p50 ms", "p99 ms", "errors", "vs yardstick")


def format_table(rows: list[Row]) -> str:
    cells = [COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    aligned = ["  ".join(_align(i, cell, widths[i]) for i, cell in enumerate(line)) for line in cells]
    return "\n".join([aligned[0], "  ".join("-" * width for width in widths), *aligned[1:]])


def _align(column: int, cell: str, width: int) -> str:
    # Names left-aligned, figures right-aligned.
    return cell.ljust(width) if column < 2 else cell.rjust(width)


def _cells(row: Row) -> tuple[str, ...]:
    m = row.measurement
    ratio = "—" if row.ratio is None or row.baseline is None else f"{row.ratio:.2f} x {row.baseline.name}"
    return (
        row.benchmark,
        f"{row.name}: {row.method} {row.path}",
        f"{m.requests_per_s:,.0f}",
        f"{m.p50_ms:.1f}",
        f"{m.p99_ms:.1f}",
        str(m.error_count),
        ratio,
    )


def row_as_dict(row: Row) -> dict[str, Any]:
    return {
        "benchmark": row.benchmark,
        "name": row.name,
        "method": row.method,
        "path": row.path,
        **row.measurement.as_dict(),
        "baseline": None if row.baseline is None else f"{row.baseline.benchmark}/{row.baseline.name}",
        "ratio": None if row.ratio is None else round(row.ratio, 3),
        "wrk_output": row.wrk_output,
    }


def write_results(result: RunResult, *, duration_s: float, load_before: float, results_dir: Path) -> Path:
    finished = datetime.now(UTC)
    document = {
        "finished_at": finished.isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain")),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load": {"duration_s": duration_s, "connections": CONNECTIONS, "threads": THREADS, "tool": "wrk"},
        "server": {"url": result.base_url, "gunicorn_workers": WORKERS, "worker_class": "sync"},
        "rows": [row_as_dict(row) for row in result.rows],
        "failures": result.failures,
        "server_log_tail": result.server_log_tail,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{finished:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return path


def _git(*args: str) -> str:
    # Read-only git queries, so a result can be traced to the code it measured.
    try:
        completed = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    except OSError:  # no git: the figures are still worth keeping
        return ""
    return completed.stdout.strip() if completed.returncode == 0 else ""
