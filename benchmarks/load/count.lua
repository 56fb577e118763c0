-- Stops each wrk thread after `limit` responses, so a run is a fixed number of requests
-- (2 threads x 5000 = 10,000). Counts non-200 answers as errors and prints them at the end.
local limit = tonumber(os.getenv("REQUESTS_PER_THREAD") or "5000")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  failures = 0
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    failures = failures + 1
  end
  if responses >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total, bad = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("responses")
    bad = bad + t:get("failures")
  end
  io.write(string.format("responses counted: %d, non-200: %d, socket errors: %d connect, %d read, %d write, %d timeout\n",
    total, bad, summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
  io.write(string.format("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
