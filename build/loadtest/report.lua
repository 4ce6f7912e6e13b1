-- Shared by every wrk run of build/loadtest.sh: prints one line "WRKJSON {...}" with the run's totals,
-- latency percentiles (microseconds) and the pacing figures the fixed-rate script keeps per thread.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function done(summary, latency, requests)
   local late, max_lag = 0, 0
   for _, thread in ipairs(threads) do
      late = late + (thread:get("late_sends") or 0)
      max_lag = math.max(max_lag, thread:get("max_lag_ms") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyUs":{"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d},' ..
      '"lateSends":%d,"maxLagMs":%.3f}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev,
      latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0), latency:percentile(99.9), latency.max,
      late, max_lag))
end
