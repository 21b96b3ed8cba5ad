-- The convoy effect: an I/O-bound thread next to CPU-bound ones.  The
-- I/O thread waits 1 ms at a time (threading.sleep stands in for a
-- socket read) SAMPLES times.  Each wait releases the GIL; when the wait
-- ends the thread needs the GIL back, and a CPU-bound holder gives it up
-- only when asked after a switch interval (5 ms).  So with the GIL on,
-- every 1 ms operation takes about 6 ms and I/O throughput collapses,
-- as in CPython (David Beazley's "convoy effect").  With the GIL off the
-- I/O thread never waits for anyone.
--
--   tlua [-X gil=0|1] [-X switchinterval=S] scripts/experiments/convoy.lua [cpu_threads] [samples]
--     cpu_threads: CPU-bound competitors, default 1; samples: default 200
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/../bench/workloads/lib.lua")
local threading = require "threading"

local n = lib.int_arg(1, 1)
local samples = lib.int_arg(2, 200)
local WAIT = 0.001

local function spin(stop)
  local s = 0
  while not stop:is_set() do
    for i = 1, 10000 do s = s + i % 7 end
  end
  return s
end

-- SAMPLES waits of 1 ms: returns the lateness of each (ms) and the
-- operations per second.
local function io_loop()
  local late = {}
  local t_start = threading.monotonic()
  for i = 1, samples do
    local t0 = threading.monotonic()
    threading.sleep(WAIT)
    late[i] = (threading.monotonic() - t0 - WAIT) * 1000
  end
  return late, samples / (threading.monotonic() - t_start)
end

local alone, alone_rate = io_loop()
local stop = threading.Event()
local spinners = {}
for i = 1, n do
  spinners[i] = threading.Thread(spin, stop)
  spinners[i]:start()
end
threading.sleep(0.05) -- let the competitors get going
local busy, busy_rate = io_loop()
stop:set()
for i = 1, n do spinners[i]:join() end

print(string.format("Convoy effect, GIL %s (switch interval %g ms), %d cores, %d CPU-bound thread(s), %d waits of 1 ms",
                    threading.gil_enabled() and "on" or "off", threading.getswitchinterval() * 1000,
                    threading._cpu_count(), n, samples))
print(string.format("  %-26s %12s %12s %14s", "", "p50 late", "p99 late", "I/O ops per s"))
print(string.format("  %-26s %9.3f ms %9.3f ms %14.0f", "I/O thread alone", lib.percentile(alone, 50),
                    lib.percentile(alone, 99), alone_rate))
print(string.format("  %-26s %9.3f ms %9.3f ms %14.0f", "next to CPU-bound threads", lib.percentile(busy, 50),
                    lib.percentile(busy, 99), busy_rate))
if threading.gil_enabled() then
  print("Each wake-up waits for the CPU-bound thread to give up the GIL, which it does")
  print("only when asked after a switch interval: every 1 ms operation costs ~1 interval more.")
else
  print("Without the GIL the I/O thread runs as soon as its wait ends (if a core is free).")
end
