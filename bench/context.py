"""What a benchmark module gets: a way to measure one endpoint, and the same-run yardstick."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench import server
from bench.wrk import Measurement, run_wrk

# The first requests after a start pay for lazy imports, database connections and caches in each
# worker; a short unrecorded run before each measurement keeps that out of the figures.
WARMUP_S = 1.0


class BenchmarkError(RuntimeError):
    pass


@dataclass(eq=False)  # rows are compared by identity: each is one measurement
class Row:
    benchmark: str
    name: str
    method: str
    path: str
    measurement: Measurement
    baseline: Row | None = None
    wrk_output: str = field(default="", repr=False)

    @property
    def ratio(self) -> float | None:
        """Requests/s as a fraction of the baseline's, both measured in this run."""
        if self.baseline is None or not self.baseline.measurement.requests_per_s:
            return None
        return self.measurement.requests_per_s / self.baseline.measurement.requests_per_s


class Context:
    def __init__(self, *, port: int, duration_s: float, server_env: dict[str, str], log: IO[str]) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.duration_s = duration_s
        # The environment gunicorn runs with: settings, DATABASE_URL, SECRET_KEY.
        self.server_env = server_env
        # The runner sets this before calling each module's run(); it labels the rows.
        self.current_benchmark = ""
        self._log = log
        self._yardsticks: dict[str, Row] = {}

    def request(
        self, method: str, path: str, *, json_body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One plain request to the server under test, e.g. to prepare data or check an answer."""
        body, all_headers = _encode(json_body, headers)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body or None, headers=all_headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def manage(self, *args: str) -> None:
        """Run a management command (e.g. to seed data) against the bench database."""
        server.manage(self.server_env, *args, log=self._log)

    def server_log(self) -> str:
        """What gunicorn (and `manage`) wrote to the run's log so far, e.g. to look for tracebacks."""
        self._log.flush()
        return Path(self._log.name).read_text(errors="replace")

    def measure(
        self,
        name: str,
        path: str,
        *,
        method: str = "GET",
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        expect_status: int = 200,
        baseline: Row | None = None,
    ) -> Row:
        """Load one endpoint with wrk for the run's duration; `baseline` is the row to compare with."""
        # wrk counts 2xx and 3xx alike as success, so check once that the answer is the intended one.
        status, content = self.request(method, path, json_body=json_body, headers=headers)
        if status != expect_status:
            raise BenchmarkError(f"{method} {path} answered {status}, expected {expect_status}: {content[:300]!r}")
        body, all_headers = _encode(json_body, headers)
        url = self.base_url + path
        run_wrk(url, duration_s=WARMUP_S, method=method, body=body, headers=all_headers)
        measurement, output = run_wrk(url, duration_s=self.duration_s, method=method, body=body, headers=all_headers)
        return Row(self.current_benchmark, name, method, path, measurement, baseline, output)

    def yardstick_bare(self) -> Row:
        """IRP's middleware and a JSON response, no database: compare read-only endpoints with this."""
        return self._yardstick("bare", lambda: self.measure("bare", "/bench/bare"))

    def yardstick_insert(self) -> Row:
        """DRF validation plus one INSERT: compare endpoints that write with this."""
        return self._yardstick(
            "insert",
            lambda: self.measure(
                "insert",
                "/bench/insert",
                method="POST",
                json_body={"name": "yardstick", "value": 1},
                expect_status=201,
                baseline=self.yardstick_bare(),
            ),
        )

    @property
    def yardsticks(self) -> list[Row]:
        return list(self._yardsticks.values())

    def _yardstick(self, key: str, measure: Callable[[], Row]) -> Row:
        # Measured once per run, on first use, whichever benchmark asks first.
        if key not in self._yardsticks:
            asking, self.current_benchmark = self.current_benchmark, "yardstick"
            try:
                self._yardsticks[key] = measure()
            finally:
                self.current_benchmark = asking
        return self._yardsticks[key]


def _encode(json_body: Any, headers: dict[str, str] | None) -> tuple[str, dict[str, str]]:
    all_headers = dict(headers or {})
    if json_body is None:
        return "", all_headers
    all_headers.setdefault("Content-Type", "application/json")
    return json.dumps(json_body), all_headers
