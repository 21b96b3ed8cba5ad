-- 001_executor_map_submit.lua -- port of the "Starting threads" example in
-- tutorial 001: ThreadPoolExecutor.map for the short-hand
-- calls, then submit() and Future.result() for the return values.
-- The three workers are busy with the map tasks for 2 s, so the submitted
-- tasks only start once those finish; each result is i + 1 or i + 2.
-- Run: tlua scripts/examples/001_executor_map_submit.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function thread_function(name)
  print(("Thread %s: starting"):format(name))
  sleep(2)
  print(("Thread %s: finishing"):format(name))
end

local function thread_function2(num)
  sleep(1)
  return num + math.random(1, 2)
end

do
  local executor <close> = threading.ThreadPoolExecutor{max_workers = 3}
  -- short hand way
  executor:map(thread_function, {"apple", "banana", "kiwi"})

  for i = 0, 2 do
    local f1 = executor:submit(thread_function2, i)
    -- getting result is optional you can just let the thread run
    print(f1:result())
  end
end
