-- One script for every measurement: bench/wrk.py passes the method and body in the environment
-- (headers go on wrk's own -H flag) and parses the line done() prints.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
end

-- wrk's own summary rounds latencies for display; this line keeps microseconds, machine-readable.
-- errors.status counts responses >= 400 ("Non-2xx or 3xx responses" in wrk's summary).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
