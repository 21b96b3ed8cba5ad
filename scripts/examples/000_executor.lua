-- 000_executor.lua -- port of executor.py, "Using a ThreadPoolExecutor" in
-- tutorial 000 (Real Python).
-- The executor is a to-be-closed variable: leaving the do-block shuts it down
-- and joins its workers, as the end of Python's `with` block does.
-- Run: tlua scripts/examples/000_executor.lua   (EXAMPLE_FAST=1: sleeps / 10)
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

do
  local executor <close> = threading.ThreadPoolExecutor{max_workers = 3}
  executor:map(thread_function, {0, 1, 2}) -- range(3)
end
