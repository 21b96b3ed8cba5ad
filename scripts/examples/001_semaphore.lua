-- 001_semaphore.lua -- illustrates the "Semaphore" paragraph of
-- tutorial 001 (prose only): a Semaphore(2) protects a
-- pool of 2 connections; 5 workers want one; at most 2 hold one at a time,
-- the others block in acquire() until a release().
-- Run: tlua scripts/examples/001_semaphore.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local pool = threading.Semaphore(2)
local stats = threading.shared{in_use = 0, most = 0}
local stats_lock = threading.Lock()

local function worker(n)
  pool:acquire()
  stats_lock:with(function()
    stats.in_use = stats.in_use + 1
    stats.most = math.max(stats.most, stats.in_use)
    print(("worker %d: got a connection (in use: %d)"):format(n, stats.in_use))
  end)
  sleep(0.2)
  stats_lock:with(function()
    stats.in_use = stats.in_use - 1
    print(("worker %d: gave it back (in use: %d)"):format(n, stats.in_use))
  end)
  pool:release()
end

local threads = {}
for n = 1, 5 do
  threads[n] = threading.Thread(worker, n)
  threads[n]:start()
end
for _, t in ipairs(threads) do t:join() end
print(("Main: at most %d connections were in use at once"):format(stats.most))
