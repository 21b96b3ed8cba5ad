-- Lock-order deadlock: thread 1 takes lock A then lock B, thread 2 takes
-- B then A.  A Barrier makes sure both hold their first lock before
-- either tries its second, so the deadlock happens on every run.  Python
-- would hang here for ever; tlua's deadlock detector notices that every
-- thread (the main thread, blocked in join, included) waits for good,
-- prints "deadlock: all threads are blocked" with what each thread waits
-- for and holds, and exits with status 3.
--
--   tlua [-X gil=0|1] scripts/experiments/lock_order_deadlock.lua [threads]
--     threads: how many threads form the cycle, default 2 (thread i takes
--     lock i, then lock i+1 mod threads)
local threading = require "threading"

local n = math.tointeger(tonumber(arg and arg[1]) or 2)
assert(n and n >= 2, "need at least 2 threads")

local function worker(first, second, all_hold_first, i)
  first:acquire()
  print(string.format("thread %d holds its first lock", i))
  all_hold_first:wait()
  print(string.format("thread %d waits for its second lock", i))
  second:acquire() -- never returns: the next thread holds it
  second:release()
  first:release()
end

local locks = {}
for i = 1, n do locks[i] = threading.Lock{name = "lock " .. i} end -- (names for the report)
local all_hold_first = threading.Barrier(n)
local ts = {}
for i = 1, n do
  ts[i] = threading.Thread{target = worker, name = "worker-" .. i,
                           args = {locks[i], locks[i % n + 1], all_hold_first, i}}
  ts[i]:start()
end
print(string.format("GIL %s: %d threads each take lock i, then lock i+1: a cycle",
                    threading.gil_enabled() and "on" or "off", n))
for i = 1, n do ts[i]:join() end
print("unreachable: the threads finished")
