-- 002_names.lua -- port of threading_names.py, "Determining the Current
-- Thread" in tutorial 002: threads named "my_service" and
-- "worker", and one with the default name "Thread-N".
-- Python's getName() is the field .name.
-- Run: tlua scripts/examples/002_names.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function worker()
  print(threading.current_thread().name .. " Starting")
  sleep(0.2)
  print(threading.current_thread().name .. " Exiting")
end

local function my_service()
  print(threading.current_thread().name .. " Starting")
  sleep(0.3)
  print(threading.current_thread().name .. " Exiting")
end

local t = threading.Thread{name = "my_service", target = my_service}
local w = threading.Thread{name = "worker", target = worker}
local w2 = threading.Thread{target = worker} -- use default name

w:start()
w2:start()
t:start()
