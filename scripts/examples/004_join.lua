-- 004_join.lua -- port of "Waiting for threads to finish before continuing"
-- in tutorial 004: start foo and bar, continue in the main
-- thread, then join them in sequence. foo and bar are undefined in the
-- original; here foo takes 0.2 s and bar 0.1 s.
-- Run: tlua scripts/examples/004_join.lua   (EXAMPLE_FAST=1: sleeps / 5)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 5 or s) end

local function foo()
  sleep(0.2)
  print("foo: done")
end

local function bar()
  sleep(0.1)
  print("bar: done")
end

-- prepare threads
local foo_thread = threading.Thread{target = foo}
local bar_thread = threading.Thread{target = bar}
local threads = {foo_thread, bar_thread}

-- start threads
for _, t in ipairs(threads) do
  t:start()
end

-- continue main execution...
print("Main: continuing while foo and bar run")

-- wait for each thread to finish
for _, t in ipairs(threads) do
  t:join()
  print(("Main: joined %s"):format(t == foo_thread and "foo_thread" or "bar_thread"))
end
print("Main: both threads finished")
