-- scripts/bench/workloads/lock_ops.lua MODE COUNT REPS: Lock throughput (tlua).
--   MODE acquire: pairs of lock:acquire(); lock:release() per second;
--   MODE with:    lock:with(f) calls per second (f does nothing);
--   MODE contended: 2 threads each add 1 to a shared counter COUNT/2
--     times, taking the Lock around each read-modify-write; prints the
--     increments per second and checks that none was lost;
--   MODE atomic: the same with threading.atomic.add(counter, "n", 1) and
--     no Lock (skipped where threading.atomic does not exist).
-- Each prints "per_second" (median of REPS runs).
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local mode, count, reps = arg[1], lib.int_arg(2, 1000000), lib.int_arg(3, 3)

local function nothing() end

local function adder(lock, counter, times)
  for _ = 1, times do
    lock:acquire()
    counter.n = counter.n + 1
    lock:release()
  end
end

local function atomic_adder(counter, times)
  local add = threading.atomic.add
  for _ = 1, times do add(counter, "n", 1) end
end

-- Two threads run adder(args..., COUNT/2); returns the seconds taken.
local function two_threads(counter, adder, ...)
  local half = count // 2
  local t0 = lib.now()
  local ts = {threading.Thread(adder, ...), threading.Thread(adder, ...)}
  for _, t in ipairs(ts) do t:start() end
  for _, t in ipairs(ts) do t:join() end
  local dt = lib.now() - t0
  assert(counter.n == 2 * half, "lost updates: " .. counter.n)
  return dt
end

local runs = {
  acquire = function()
    local lock = threading.Lock()
    local t0 = lib.now()
    for _ = 1, count do lock:acquire(); lock:release() end
    return lib.now() - t0
  end,
  with = function()
    local lock = threading.Lock()
    local t0 = lib.now()
    for _ = 1, count do lock:with(nothing) end
    return lib.now() - t0
  end,
  contended = function()
    local lock, counter = threading.Lock(), threading.shared{n = 0}
    return two_threads(counter, adder, lock, counter, count // 2)
  end,
  atomic = function()
    local counter = threading.shared{n = 0}
    return two_threads(counter, atomic_adder, counter, count // 2)
  end,
}
local run = assert(runs[mode], "unknown mode")
if mode == "atomic" and not threading.atomic then
  print("skip no threading.atomic")
  return
end
local rates = {}
local two = mode == "contended" or mode == "atomic"
for r = 1, reps do rates[r] = (two and count // 2 * 2 or count) / run() end
lib.report("per_second", lib.median(rates))
lib.report("cores", threading._cpu_count and threading._cpu_count() or 0)
