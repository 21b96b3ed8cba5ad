-- 002_names_log.lua -- port of threading_names_log.py, "Logging threads" in
-- tutorial 002: the same threads as 002_names.lua, the
-- thread names coming from the log format's %(threadName)s.
-- Run: tlua scripts/examples/002_names_log.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function worker()
  logging.debug("Starting")
  sleep(0.2)
  logging.debug("Exiting")
end

local function my_service()
  logging.debug("Starting")
  sleep(0.3)
  logging.debug("Exiting")
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "[%(levelname)s] (%(threadName)-10s) %(message)s",
}

local t = threading.Thread{name = "my_service", target = my_service}
local w = threading.Thread{name = "worker", target = worker}
local w2 = threading.Thread{target = worker} -- use default name

w:start()
w2:start()
t:start()
