-- CPU-bound scaling: the same total work done by one thread, then split
-- across N threads.  With the GIL off (tlua's default) the threads run in
-- parallel, up to the number of cores; with it on, only one runs Lua at a
-- time, as in CPython, so N threads take as long as one.
--
--   tlua [-X gil=0|1] scripts/experiments/cpu_scaling.lua [threads] [work]
--     threads: default 2; work: total loop iterations, default 4e7
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/../bench/workloads/lib.lua")
local threading = require "threading"

local n = lib.int_arg(1, 2)
local work = lib.int_arg(2, 40000000)
local RUNS = 3

local function count(iterations)
  local s = 0
  for i = 1, iterations do s = s + i % 7 end
  return s
end

local seq, par, cpu = {}, {}, {}
for r = 1, RUNS do
  local t0 = threading.monotonic()
  count(work)
  seq[r] = threading.monotonic() - t0

  t0 = threading.monotonic()
  local c0 = os.clock()
  local ts = {}
  for i = 1, n do
    ts[i] = threading.Thread(count, work // n)
    ts[i]:start()
  end
  for i = 1, n do ts[i]:join() end
  par[r] = threading.monotonic() - t0
  cpu[r] = (os.clock() - c0) / par[r]
end

local gil = threading.gil_enabled()
local s, p = lib.median(seq), lib.median(par)
print(string.format("CPU-bound scaling, GIL %s, %d cores, %d threads, %d iterations (median of %d runs)",
                    gil and "on" or "off", threading._cpu_count(), n, work, RUNS))
print(string.format("  1 thread:          %.3f s", s))
print(string.format("  %d threads:        %.3f s", n, p))
print(string.format("  speedup:           %.2fx", s / p))
print(string.format("  cores kept busy:   %.2f (process CPU time / wall time)", lib.median(cpu)))
if gil then
  print("The GIL lets one thread run Lua at a time: the work is not done faster,")
  print("the threads only take turns (every " .. threading.getswitchinterval() * 1000 .. " ms), as in CPython.")
else
  print(string.format("Without the GIL the threads run at once on up to %d cores: the ideal", threading._cpu_count()))
  print(string.format("speedup here is %d.", math.min(n, threading._cpu_count())))
end
