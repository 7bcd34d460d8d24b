-- PagerDuty Events v2 triggers, a fresh body per request (wrk.lua repeats one fixed body).
-- bench/bench_ingest.py passes the parameters in the environment:
--   BENCH_WRK_LUA      path of bench/wrk.lua, loaded first for its done() (the BENCH_RESULT line)
--   BENCH_ROUTING_KEY  the integration's key
--   BENCH_KEY_PREFIX   starts every dedup key; new for each wrk run, so no run repeats another's keys
--   BENCH_DEDUP_KEYS   0: a new dedup key for every request (each opens an incident);
--                      N: cycle through N keys (repeats of open incidents: the dedup path)
dofile(os.getenv("BENCH_WRK_LUA"))

wrk.method = "POST"
local routing_key = os.getenv("BENCH_ROUTING_KEY")
local prefix = os.getenv("BENCH_KEY_PREFIX")
local dedup_keys = tonumber(os.getenv("BENCH_DEDUP_KEYS") or "0")

-- Each wrk thread runs its own copy of this script; setup() numbers them so keys never collide.
local thread_count = 0
setup = function(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

local sent = 0
request = function()
  sent = sent + 1
  local key
  if dedup_keys > 0 then
    key = string.format("%s-%d", prefix, (sent + thread_id) % dedup_keys)
  else
    key = string.format("%s-%d-%d", prefix, thread_id, sent)
  end
  local body = string.format(
    '{"routing_key": "%s", "event_action": "trigger", "dedup_key": "%s", ' ..
    '"payload": {"summary": "Benchmark alert %s", "source": "bench.example.com", "severity": "critical", ' ..
    '"component": "checkout", "group": "web", "class": "latency", "custom_details": {"sent": %d}}, ' ..
    '"links": [{"href": "https://bench.example.com/runbook", "text": "Runbook"}]}',
    routing_key, key, key, sent)
  return wrk.format(nil, nil, nil, body)
end
