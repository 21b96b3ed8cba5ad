-- scripts/bench/workloads/scaling.lua N WORK REPS: CPU-bound scaling (run by tlua
-- with -X gil=0 or -X gil=1).
-- Sequential: the main thread does N units of WORK loop iterations.
-- Threaded: N threads do one unit each, at once.  Both sides alternate
-- REPS times (a noisy neighbour slows both alike).  Prints the medians
-- of both times and of their ratio: "speedup" = sequential / threaded
-- (about min(N, cores) with the GIL off, about 1 with it on).
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local n, work, reps = lib.int_arg(1, 2), lib.int_arg(2, 10000000), lib.int_arg(3, 3)

local function unit(iterations)
  local s = 0
  for i = 1, iterations do s = s + i % 7 end
  return s
end

local seq, par, speedup = {}, {}, {}
for r = 1, reps do
  local t0 = lib.now()
  for _ = 1, n do unit(work) end
  seq[r] = lib.now() - t0
  t0 = lib.now()
  local ts = {}
  for i = 1, n do ts[i] = threading.Thread(unit, work); ts[i]:start() end
  for i = 1, n do ts[i]:join() end
  par[r] = lib.now() - t0
  speedup[r] = seq[r] / par[r]
end
lib.report("sequential", lib.median(seq))
lib.report("threaded", lib.median(par))
lib.report("speedup", lib.median(speedup))
lib.report("cores", threading._cpu_count and threading._cpu_count() or 0)
