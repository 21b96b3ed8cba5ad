-- scripts/bench/workloads/executor_tasks.lua COUNT REPS WORKERS: tasks per second through
-- a ThreadPoolExecutor(WORKERS): submit COUNT tiny tasks, then read every
-- result.  Prints "per_second" (median of REPS) or "skip REASON" when the
-- executor is not available.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local count, reps, workers = lib.int_arg(1, 20000), lib.int_arg(2, 3), lib.int_arg(3, 2)
local ok, err = pcall(function() return threading.ThreadPoolExecutor end)
if not ok or not err then print("skip ThreadPoolExecutor not available: " .. tostring(err)) return end

local function task(x) return x + 1 end

local rates = {}
for r = 1, reps do
  local t0 = lib.now()
  local ex = threading.ThreadPoolExecutor(workers)
  local futures = {}
  for i = 1, count do futures[i] = ex:submit(task, i) end
  local sum = 0
  for i = 1, count do sum = sum + futures[i]:result() end
  ex:shutdown()
  rates[r] = count / (lib.now() - t0)
  assert(sum == count * (count + 1) // 2 + count)
end
lib.report("per_second", lib.median(rates))
lib.report("cores", threading._cpu_count and threading._cpu_count() or 0)
