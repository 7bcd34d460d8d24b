from bench.wrk import parse_output

# What wrk 4.1 prints with --latency and bench/wrk.lua, from a run with failures.
OUTPUT = """\
Running 10s test @ http://127.0.0.1:8000/bench/insert
  2 threads and 32 connections
  Latency Distribution
     50%   26.43ms
     99%   41.20ms
  11702 requests in 10.01s, 3.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:   1169.03
BENCH_RESULT {"requests": 11702, "duration_us": 10010000, "p50_us": 26431, "p99_us": 41204, \
"connect": 0, "read": 2, "write": 0, "timeout": 1, "status": 7}
"""


def test_parse_output_reads_the_script_line() -> None:
    measurement = parse_output(OUTPUT)

    assert measurement.requests == 11702
    assert round(measurement.requests_per_s, 1) == 1169.0
    assert measurement.p50_ms == 26.431
    assert measurement.p99_ms == 41.204
    assert measurement.errors == {"connect": 0, "read": 2, "write": 0, "timeout": 1, "status": 7}
    assert measurement.error_count == 10
