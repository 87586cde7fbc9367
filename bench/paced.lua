-- Paced load for wrk: each connection waits PORTICO_BENCH_PACE_MS milliseconds after every answer before it
-- sends the next request, so 32 connections ask for roughly 32 000 / (pace + latency) requests a second,
-- well below what any server here can answer. wrk's latencies leave the waits out: what is measured is what
-- each hop adds, not queueing behind a saturated core.
local pace = tonumber(os.getenv("PORTICO_BENCH_PACE_MS") or "3")

function delay()
  return pace
end
