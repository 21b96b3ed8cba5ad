-- scripts/bench/workloads/explore_check.lua COUNT REPS: schedules explored
-- per second by threading.check in this process, on the lost-update
-- program (two threads, three unguarded increments of a shared counter
-- each; without its assertion, so that every run counts).  Prints
-- "per_second" (median of REPS).
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local count, reps = lib.int_arg(1, 1000), lib.int_arg(2, 3)
if not threading or not threading.check then print("skip threading.check not available") return end

local function lost_update()
  local c = threading.shared{n = 0}
  local function add(s) for _ = 1, 3 do s.n = s.n + 1 end end
  local a, b = threading.Thread(add, c):start(), threading.Thread(add, c):start()
  a:join()
  b:join()
end

local rates = {}
for r = 1, reps do
  local t0 = lib.now()
  threading.check(lost_update, {runs = count, seed = r * count})
  rates[r] = count / (lib.now() - t0)
end
lib.report("per_second", lib.median(rates))
