-- 004_sleepy.lua -- port of "Create a Custom Thread Class" in
-- tutorial 004: class Sleepy(Thread) with run().
-- Lua idiom for a Thread subclass: a constructor function returning a
-- Thread whose target is the run function.
-- Run: tlua scripts/examples/004_sleepy.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function Sleepy()
  local function run()
    sleep(5)
    print("Hello form Thread")
  end
  return threading.Thread{target = run}
end

local t = Sleepy()
t:start() -- start() runs the thread's target, Sleepy's run
-- print 'The main program continues to run in foreground.'
t:join()
print("The main program continues to run in the foreground.")
