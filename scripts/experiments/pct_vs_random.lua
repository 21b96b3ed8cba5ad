-- PCT against random scheduling, on the kind of bug PCT was made for
-- (Burckhardt et al., "A Randomized Scheduler with Probabilistic
-- Guarantees of Finding Bugs", ASPLOS 2010, figure 5): a bug of depth 1
-- that shows only when one thread runs 20 steps without the other
-- running in between.  A random scheduler picks the other thread at
-- almost every step, so it almost never finds it; PCT gives each thread
-- a random priority and runs the highest one until it blocks, so it finds
-- it in about half the runs.  And on a lock-order deadlock (depth 2: one
-- switch at the right moment), where both find it, PCT more often.
--
--   tlua scripts/experiments/pct_vs_random.lua [RUNS]   (default 1000)
-- Each run is one threading.check replay of a seed, in this process.
local threading = require "threading"

local runs = math.tointeger(tonumber(arg[1] or "1000")) or 1000

-- Depth 1: the long thread's 20 steps must all come before the check.
local function figure5()
  local s = threading.shared{done = 0}
  local function long(s) for _ = 1, 20 do s.done = s.done + 1 end end
  local function check(s) assert(s.done < 20, "the long thread ran uninterrupted") end
  local a = threading.Thread(long, s):start()
  local b = threading.Thread(check, s):start()
  a:join()
  b:join()
end

-- Depth 2: two locks taken in opposite orders.
local function lock_order()
  local a, b = threading.Lock(), threading.Lock()
  local function one(x, y) x:acquire() y:acquire() y:release() x:release() end
  local t1, t2 = threading.Thread(one, a, b):start(), threading.Thread(one, b, a):start()
  t1:join()
  t2:join()
end

-- The share of seeds 1..runs whose run fails under 'spec' ("pct:%d:1").
local function rate(program, spec)
  local failed = 0
  for seed = 1, runs do
    if not pcall(threading.check, program, {replay = spec:format(seed)}) then failed = failed + 1 end
  end
  return failed / runs
end

local t0 = threading.monotonic()
local rows = {
  {"figure 5 (depth 1, 20 steps)", "random:%d", figure5},
  {"figure 5 (depth 1, 20 steps)", "pct:%d:1", figure5},
  {"figure 5 (depth 1, 20 steps)", "pct:%d:3", figure5},
  {"lock-order deadlock (depth 2)", "random:%d", lock_order},
  {"lock-order deadlock (depth 2)", "pct:%d:2:20", lock_order},
  {"lock-order deadlock (depth 2)", "pct:%d:3:20", lock_order},
}
print(("PCT against random scheduling: %d runs each (seeds 1-%d)"):format(runs, runs))
print(("%-32s %-14s %10s"):format("bug", "scheduler", "found in"))
for _, r in ipairs(rows) do
  print(("%-32s %-14s %9.1f%%"):format(r[1], r[2]:gsub(":%%d", ""), 100 * rate(r[3], r[2])))
end
print(("%d runs in %.1f s"):format(6 * runs, threading.monotonic() - t0))
