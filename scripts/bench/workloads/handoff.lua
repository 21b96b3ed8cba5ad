-- scripts/bench/workloads/handoff.lua SAMPLES: GIL hand-off latency (run by tlua
-- with -X gil=0 or -X gil=1).  The main thread sleeps 1 ms SAMPLES times
-- while a CPU-bound thread spins; each wake-up's lateness is the time
-- beyond the 1 ms asked for.  With the GIL on the sleeper must get the
-- GIL back from the spinner, which lets it go after a switch interval.
-- Prints p50 and p99 lateness in milliseconds and the switch interval.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local samples = lib.int_arg(1, 200)

local function spin(stop, started)
  started:set()
  local s = 0
  while not stop:is_set() do
    for i = 1, 10000 do s = s + i % 7 end
  end
  return s
end

local stop, started = threading.Event(), threading.Event()
local spinner = threading.Thread(spin, stop, started)
spinner:start()
started:wait()
local late = {}
for i = 1, samples do
  local t0 = lib.now()
  threading.sleep(0.001)
  late[i] = (lib.now() - t0 - 0.001) * 1000
end
stop:set()
spinner:join()
lib.report("p50_ms", lib.percentile(late, 50))
lib.report("p99_ms", lib.percentile(late, 99))
lib.report("switch_interval_ms", threading.getswitchinterval() * 1000)
lib.report("cores", threading._cpu_count and threading._cpu_count() or 0)
