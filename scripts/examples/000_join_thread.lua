-- 000_join_thread.lua -- port of single_thread.py with line twenty, x.join(),
-- uncommented ("join() a Thread" in tutorial 000, Real Python).
-- The main thread waits for the thread: "Thread 1: finishing" now comes
-- before "Main    : all done".
-- Run: tlua scripts/examples/000_join_thread.lua   (EXAMPLE_FAST=1: sleeps / 10)
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

logging.info("Main    : before creating thread")
local x = threading.Thread{target = thread_function, args = {1}}
logging.info("Main    : before running thread")
x:start()
logging.info("Main    : wait for the thread to finish")
x:join()
logging.info("Main    : all done")
