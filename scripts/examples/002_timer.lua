-- 002_timer.lua -- port of threading_timer.py, "Timer Threads" in
-- tutorial 002: two 0.3 s timers; t2 is cancelled after
-- 0.2 s and never runs; t1 runs after the main thread is done.
-- Python's setName()/getName() are the field .name.
-- Run: tlua scripts/examples/002_timer.lua   (EXAMPLE_FAST=1: times / 2)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function seconds(s) return FAST and s / 2 or s end

local function delayed()
  logging.debug("worker running")
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "(%(threadName)-10s) %(message)s",
}

local t1 = threading.Timer(seconds(0.3), delayed)
t1.name = "t1"
local t2 = threading.Timer(seconds(0.3), delayed)
t2.name = "t2"

logging.debug("starting timers")
t1:start()
t2:start()

logging.debug("waiting before canceling %s", t2.name)
threading.sleep(seconds(0.2))
logging.debug("canceling %s", t2.name)
t2:cancel()
logging.debug("done")
