-- wrk script for figure 2: POST /v1/events, one event document per request, never the same one
-- twice. Each wrk thread takes every n-th line of the bodies file (one JSON document a line).
-- Every request carries `Authorization: Bearer $BENCH_API_KEY` (the bench's client key).
-- BENCH_API_KEY=bt_... wrk -t2 -c8 -d10s -s post_event.lua URL -- BODIES_FILE THREADS

local next_id = 0
local bodies = {}
local counter = 0
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. (os.getenv("BENCH_API_KEY") or ""),
}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local threads = tonumber(args[2])
  local index = 0
  for line in io.lines(args[1]) do
    if index % threads == id then
      bodies[#bodies + 1] = line
    end
    index = index + 1
  end
end

function request()
  counter = counter % #bodies + 1
  return wrk.format("POST", "/v1/events", headers, bodies[counter])
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.status + summary.errors.timeout))
end
