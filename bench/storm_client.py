"""An exact number of PagerDuty triggers from concurrent clients, in a process of its own.

wrk cannot stop after a given number of requests, and the alert storm must send exactly 10,000 so
the database can be checked against it. Each client is a thread with its own connection; request n
(0 ≤ n < total) goes to client n mod clients and carries dedup key n mod keys, so every key gets the
same share. Nothing is retried: a request that failed may or may not have reached the server.

    python -m bench.storm_client --port PORT --routing-key KEY --prefix PREFIX [--total N] [--keys K] [--clients C]

Prints one JSON object: responses by status, socket errors, the time taken and latency percentiles.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

PATH = "/v2/enqueue"
HEADERS = {"Content-Type": "application/json"}
REQUEST_TIMEOUT_S = 30


@dataclass
class ClientResult:
    statuses: Counter[int] = field(default_factory=Counter)
    socket_errors: int = 0
    first_error: str = ""
    latencies_s: list[float] = field(default_factory=list)


def trigger(routing_key: str, dedup_key: str, n: int) -> bytes:
    return json.dumps(
        {
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": f"Alert storm: {dedup_key}",
                "source": "storm.example.com",
                "severity": "critical",
                "custom_details": {"n": n},
            },
        }
    ).encode()


def client(index: int, args: argparse.Namespace, result: ClientResult, start: threading.Barrier) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=REQUEST_TIMEOUT_S)
    start.wait()
    try:
        for n in range(index, args.total, args.clients):
            body = trigger(args.routing_key, f"{args.prefix}-{n % args.keys}", n)
            started = time.perf_counter()
            try:
                connection.request("POST", PATH, body=body, headers=HEADERS)
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                result.socket_errors += 1
                result.first_error = result.first_error or f"{type(error).__name__}: {error}"
                # http.client reconnects on the next request once the broken connection is closed.
                connection.close()
                continue
            result.latencies_s.append(time.perf_counter() - started)
            result.statuses[response.status] += 1
    finally:
        connection.close()


def percentile(sorted_values: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list; 0 when it is empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storm_client", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="IRP's port on 127.0.0.1")
    parser.add_argument("--routing-key", required=True)
    parser.add_argument("--prefix", required=True, help="dedup keys are PREFIX-0 … PREFIX-(keys-1)")
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args(argv)

    results = [ClientResult() for _ in range(args.clients)]
    start = threading.Barrier(args.clients + 1)
    threads = [
        threading.Thread(target=client, args=(index, args, results[index], start), daemon=True)
        for index in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    duration_s = time.perf_counter() - began

    statuses: Counter[int] = Counter()
    for result in results:
        statuses.update(result.statuses)
    latencies = sorted(latency for result in results for latency in result.latencies_s)
    report = {
        "sent": args.total,
        "responses": len(latencies),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "socket_errors": sum(result.socket_errors for result in results),
        "first_socket_error": next((result.first_error for result in results if result.first_error), ""),
        "duration_s": duration_s,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
