-- 001_multiple_threads.lua -- port of "Starting multiple threads without a
-- context manager" in tutorial 001: Thread objects started
-- in a loop, then joined one by one.
-- Run: tlua scripts/examples/001_multiple_threads.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function thread_function(name)
  print(("Thread %s: starting"):format(name))
  sleep(2)
  print(("Thread %s: finishing"):format(name))
end

local threads = {}
for index = 0, 2 do
  print(("Main    : create and start thread %d."):format(index))
  local x = threading.Thread{target = thread_function, args = {index}}
  threads[#threads + 1] = x
  x:start()
end

for i, thread in ipairs(threads) do
  local index = i - 1 -- Python's enumerate() counts from 0
  print(("Main    : before joining thread %d"):format(index))
  thread:join()
  print(("Main    : thread %d done"):format(index))
end
