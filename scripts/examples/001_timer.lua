-- 001_timer.lua -- illustrates the "Timer" paragraph of
-- tutorial 001 (prose only, plus
-- `t = threading.Timer(30.0, my_functions)`): a Timer calls its function on a
-- new thread after the interval; cancel() after it has run does nothing and
-- raises nothing; a Timer cancelled in time never calls its function (the
-- "give the user some time to make a selection" use).
-- Run: tlua scripts/examples/001_timer.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function seconds(s) return FAST and s / 10 or s end

local function my_function(what)
  print(("%s: called on thread %s"):format(what, threading.current_thread().name))
end

local t = threading.Timer(seconds(0.5), my_function, "first timer")
t:start()
print("Main: first timer started")
t:join()
t:cancel() -- after the timer has executed: no effect, no error
print("Main: cancel() after it fired did nothing")

local t2 = threading.Timer(seconds(30.0), my_function, "second timer")
t2:start()
t2:cancel() -- in time: my_function is never called
t2:join()
print("Main: second timer cancelled before it fired")
