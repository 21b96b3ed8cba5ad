-- 002_daemon_join_timeout.lua -- port of threading_daemon_join_timeout.py in
-- tutorial 002: join(0.1) returns before the daemon is
-- done, so it is still alive; run as a script, the program then exits
-- without the daemon's "Exiting" line (the notebook shows it only because
-- its kernel keeps running). Python's isAlive() is is_alive().
-- Run: tlua scripts/examples/002_daemon_join_timeout.lua   (EXAMPLE_FAST=1: times / 2)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function seconds(s) return FAST and s / 2 or s end

local function daemon()
  logging.debug("Starting")
  threading.sleep(seconds(0.2))
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

d:join(seconds(0.1))
print("d:is_alive() " .. tostring(d:is_alive()))
t:join()
