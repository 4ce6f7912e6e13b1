-- Fixed-rate load for wrk (wrk2 is not packaged in Debian): wrk -s rate.lua <url> -- <total req/s> <threads>
--
-- Each wrk thread owns an evenly spaced schedule of send times (total rate / threads) and every
-- delay() call, made by whichever of the thread's connections is free, claims the next slot; so
-- requests leave at the fixed rate as long as a connection is free, whatever the latency. When no
-- connection is free on time the send is late: such sends are counted ("late_sends", more than 1 ms
-- behind) and the worst lag kept, since wrk measures latency from the actual send (coordinated
-- omission); a run with late sends did not hold the rate.

dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "report.lua")

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } loadtest_timespec;
int clock_gettime(int clock_id, loadtest_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local now_ts = ffi.new("loadtest_timespec")

local function now_ms()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, now_ts)
   return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local interval_ms
local next_slot

late_sends = 0
max_lag_ms = 0

function init(args)
   local rate = tonumber(args[1]) or 1000
   local thread_count = tonumber(args[2]) or 1
   interval_ms = 1000 * thread_count / rate
end

function delay()
   local now = now_ms()
   next_slot = next_slot or now
   local slot = next_slot
   next_slot = next_slot + interval_ms
   local wait = slot - now
   if wait >= 0 then
      return wait -- wrk takes whole milliseconds
   end
   if -wait > 1 then
      late_sends = late_sends + 1
   end
   if -wait > max_lag_ms then
      max_lag_ms = -wait
   end
   return 0
end
