-- scripts/bench/workloads/queue_items.lua COUNT REPS [MAXSIZE]: items per second through
-- a threading.Queue from a producer thread to the main thread (integers;
-- MAXSIZE 0 = unbounded, as Python's default).  Prints "per_second", the
-- median of REPS runs, or "skip REASON" when Queue is not available.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local count, reps, maxsize = lib.int_arg(1, 200000), lib.int_arg(2, 3), lib.int_arg(3, 0)
if not threading.Queue then print("skip threading.Queue not implemented") return end

local function produce(q, n)
  for i = 1, n do q:put(i) end
end

local rates = {}
for r = 1, reps do
  local q = threading.Queue(maxsize)
  local t0 = lib.now()
  local producer = threading.Thread(produce, q, count)
  producer:start()
  local sum = 0
  for _ = 1, count do sum = sum + q:get() end
  producer:join()
  rates[r] = count / (lib.now() - t0)
  assert(sum == count * (count + 1) // 2)
end
lib.report("per_second", lib.median(rates))
lib.report("cores", threading._cpu_count and threading._cpu_count() or 0)
