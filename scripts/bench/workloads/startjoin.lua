-- scripts/bench/workloads/startjoin.lua COUNT REPS: the cost of starting and
-- joining a thread that does nothing, one after the other (a new Lua
-- state per thread in tlua).  Prints the median microseconds per
-- start+join over REPS batches of COUNT.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local count, reps = lib.int_arg(1, 1000), lib.int_arg(2, 3)

local function nothing() end
local per = {}
for r = 1, reps do
  local t0 = lib.now()
  for _ = 1, count do
    local t = threading.Thread(nothing)
    t:start()
    t:join()
  end
  per[r] = (lib.now() - t0) / count * 1e6
end
lib.report("us_per_thread", lib.median(per))
