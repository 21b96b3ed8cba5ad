-- scripts/bench/workloads/pingpong.lua COUNT REPS: the cost of handing a turn from
-- one thread to another and back, through each primitive that threads wait on: two
-- threads pass a turn COUNT times each way through a pair of Events, a pair of
-- Semaphores, and one Condition (a shared turn under its lock).  Prints
-- microseconds per hand-off for each ("event_us", "semaphore_us",
-- "condition_us"), medians of REPS runs.  With the GIL off this is the wake-up
-- (or the watch before it, docs/design.md "Blocking"); with the GIL on, the
-- GIL's hand-off too.  pingpong.py is the CPython peer.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local count, reps = lib.int_arg(1, 5000), lib.int_arg(2, 3)

local function event_player(mine, other, n)
  for _ = 1, n do mine:wait(); mine:clear(); other:set() end
end

local function semaphore_player(mine, other, n)
  for _ = 1, n do mine:acquire(); other:release() end
end

local function condition_player(cv, turn, me, n)
  for _ = 1, n do
    cv:acquire()
    while turn.now ~= me do cv:wait() end
    turn.now = 1 - me
    cv:notify()
    cv:release()
  end
end

-- Seconds for 2 * count hand-offs: player(b, a, count) in a new thread,
-- main_turn(a, b) count times in this one.
local function two_sides(player, a, b, main_turn)
  local t0 = lib.now()
  local t = threading.Thread(player, b, a, count):start()
  for _ = 1, count do main_turn(a, b) end
  t:join()
  return lib.now() - t0
end

-- Each returns the seconds for 2 * count hand-offs.
local ways = {
  event = function()
    return two_sides(event_player, threading.Event(), threading.Event(),
                     function(a, b) b:set(); a:wait(); a:clear() end)
  end,
  semaphore = function()
    return two_sides(semaphore_player, threading.Semaphore(0), threading.Semaphore(0),
                     function(a, b) b:release(); a:acquire() end)
  end,
  condition = function()
    local cv, turn = threading.Condition(), threading.shared{now = 0}
    local t0 = lib.now()
    local t = threading.Thread(condition_player, cv, turn, 1, count):start()
    condition_player(cv, turn, 0, count)
    t:join()
    return lib.now() - t0
  end,
}

for _, name in ipairs{"event", "semaphore", "condition"} do
  local per = {}
  for r = 1, reps do per[r] = ways[name]() / (2 * count) * 1e6 end
  lib.report(name .. "_us", lib.median(per))
end
