-- 003_gil.lua -- illustrates "How Python Implements Threading" in
-- tutorial 003 (and the GIL paragraphs of
-- tutorial 000), which have no code: with the GIL,
-- CPU-bound work gains nothing from threads, while threads that wait
-- (sleep, I/O) overlap their waits. tlua can switch the GIL off
-- (the default): then CPU-bound threads run in parallel on all cores.
-- Four tasks, run one after the other, then on four threads; "cores busy"
-- is the process's CPU time (os.clock, all threads) over the wall time.
-- Run: tlua -X gil=1 scripts/examples/003_gil.lua   (and -X gil=0)
--      (EXAMPLE_FAST=1: smaller tasks)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local N = FAST and 2000000 or 10000000 -- loop iterations of a CPU-bound task
local NAP = FAST and 0.05 or 0.25      -- seconds an I/O-bound task waits

local function cpu_bound(n)
  local x = 0
  for i = 1, n do x = x + i % 7 end
  return x
end

local function io_bound(seconds)
  threading.sleep(seconds)
end

local function timed(f)
  local t0, c0 = threading.monotonic(), os.clock()
  f()
  local wall = threading.monotonic() - t0
  return wall, (os.clock() - c0) / wall
end

local function sequential(task, arg)
  return timed(function()
    for _ = 1, 4 do task(arg) end
  end)
end

local function threaded(task, arg)
  return timed(function()
    local threads = {}
    for i = 1, 4 do
      threads[i] = threading.Thread(task, arg)
      threads[i]:start()
    end
    for _, t in ipairs(threads) do t:join() end
  end)
end

print(("GIL %s, %d cores"):format(threading.gil_enabled() and "on" or "off",
                                   tonumber(io.popen("nproc"):read("l")) or 0))
for _, case in ipairs{{"CPU-bound", cpu_bound, N}, {"I/O-bound", io_bound, NAP}} do
  local name, task, arg = case[1], case[2], case[3]
  local one_by_one = sequential(task, arg)
  local four_threads, busy = threaded(task, arg)
  print(("%s: 4 tasks one by one %.2f s, on 4 threads %.2f s: speed-up x%.1f (cores busy: %.1f)"):format(
    name, one_by_one, four_threads, one_by_one / four_threads, busy))
end
