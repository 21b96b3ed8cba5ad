-- 002_daemon.lua -- port of threading_daemon.py, "Daemon vs. Non-Daemon
-- Threads" in tutorial 002.
-- Run as a script (not in a notebook, whose kernel outlives the cell), the
-- program exits as soon as the non-daemon thread is done: the daemon's
-- "Exiting" line is never written.
-- Run: tlua scripts/examples/002_daemon.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function daemon()
  logging.debug("Starting")
  sleep(2)
  logging.debug("Exiting")
end

local function non_daemon()
  logging.debug("Starting")
  logging.debug("Exiting")
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "(%(threadName)-10s) %(message)s",
}

local d = threading.Thread{name = "daemon", target = daemon, daemon = true}

local t = threading.Thread{name = "non-daemon", target = non_daemon}

d:start()
t:start()
