-- wrk script for figure 5: POST /v1/events open loop at a fixed rate, one event document per
-- request, never the same one twice. Debian's wrk has no rate option, so each thread paces
-- itself: its k-th request is due at start + k / (rate / threads), and `delay()` holds each
-- connection until then (a request is never sent early; with every connection waiting on an
-- answer it goes out late, and the latency wrk counts from sending hides that: figure 5 counts
-- its probes from when they were due). Each thread takes every n-th line of the bodies file.
-- BENCH_API_KEY=bt_... wrk -t2 -c64 -d30s -s post_paced.lua URL -- BODIES_FILE THREADS RATE

local ffi = require("ffi")
ffi.cdef[[
  typedef struct { long tv_sec; long tv_nsec; } timespec;
  int clock_gettime(int clock_id, timespec *tp);
]]
local clock = ffi.new("timespec")

local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1e3 + tonumber(clock.tv_nsec) / 1e6
end

local next_id = 0
local bodies = {}
local counter = 0
local interval_ms = 0
local due_ms = nil
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
  interval_ms = 1e3 * threads / tonumber(args[3])
  local index = 0
  for line in io.lines(args[1]) do
    if index % threads == id then
      bodies[#bodies + 1] = line
    end
    index = index + 1
  end
end

function delay()
  local now = now_ms()
  if due_ms == nil then
    due_ms = now
  end
  due_ms = due_ms + interval_ms
  return math.max(0, math.floor(due_ms - now))
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
