-- 001_barrier.lua -- illustrates the "Barrier" paragraph of
-- tutorial 001 (prose only): a pool of 3 threads
-- initialises itself; each waits on a Barrier(3), so none starts running
-- before all of them have finished their initialisation.
-- Run: tlua scripts/examples/001_barrier.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function worker(n, ready)
  sleep(math.random(1, 5) / 10) -- initialisation of uneven length
  print(("worker %d: initialized"):format(n))
  local index = ready:wait()
  print(("worker %d: running (barrier index %d)"):format(n, index))
end

local ready = threading.Barrier(3)
local threads = {}
for n = 1, 3 do
  threads[n] = threading.Thread{target = worker, args = {n, ready}}
  threads[n]:start()
end
for _, t in ipairs(threads) do t:join() end
print("Main: all workers ran")
