-- 000_multiple_threads.lua -- port of multiple_threads.py, "Working with many
-- threads" in tutorial 000 (Real Python).
-- Three threads are started in order; they may finish in any order; each
-- "Main    : thread N done" follows "Thread N: finishing".
-- Run: tlua scripts/examples/000_multiple_threads.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function thread_function(name)
  logging.info("Thread %s: starting", name)
  sleep(2)
  logging.info("Thread %s: finishing", name)
end

local format = "%(asctime)s: %(message)s"
logging.basicConfig{format = format, level = logging.INFO, datefmt = "%H:%M:%S"}

local threads = {}
for index = 0, 2 do
  logging.info("Main    : create and start thread %d.", index)
  local x = threading.Thread{target = thread_function, args = {index}}
  threads[#threads + 1] = x
  x:start()
end

for i, thread in ipairs(threads) do
  local index = i - 1 -- Python's enumerate() counts from 0
  logging.info("Main    : before joining thread %d.", index)
  thread:join()
  logging.info("Main    : thread %d done", index)
end
