"""`python -m bench [name ...]`: run every benchmark, or the named ones (see docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from bench import report, runner

DEFAULT_DURATION_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(runner.available())})")
    parser.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BENCH_DURATION", DEFAULT_DURATION_S)),
        help="seconds of load per measurement (env BENCH_DURATION; default %(default)s)",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_RESULTS_DIR", report.DEFAULT_RESULTS_DIR)),
        help="where the JSON results go (env BENCH_RESULTS_DIR; default %(default)s)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(runner.available()))
        return 0

    # `kill` or a CI timeout should stop gunicorn as surely as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    load_before = _warn_if_busy()
    try:
        result = runner.run(args.names, duration_s=args.duration)
    except runner.SetupError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; server stopped, nothing recorded", file=sys.stderr)
        return 130

    print(report.format_table(result.rows))
    path = report.write_results(result, duration_s=args.duration, load_before=load_before, results_dir=args.results_dir)
    print(f"\nresults: {path}")
    with_errors = [row for row in result.rows if row.measurement.error_count]
    if result.failures or with_errors:
        print(f"bench: --- server log (last lines) ---\n{result.server_log_tail}", file=sys.stderr)
        print(
            f"bench: {len(result.failures)} benchmark(s) failed, {len(with_errors)} row(s) had errors", file=sys.stderr
        )
        return 1
    return 0


def _warn_if_busy() -> float:
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    # The server and wrk need every core; other work lowers absolute figures more than ratios.
    if load > cpus / 2:
        print(
            f"bench: warning: load average {load:.1f} on {cpus} CPUs before starting; other work is running, "
            "so requests/s will be low (the ratios suffer less)",
            file=sys.stderr,
        )
    return load


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
