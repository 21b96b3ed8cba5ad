-- 004_basic.lua -- port of "A very basic example on threading" in
-- tutorial 004: five threads sleep 10 s; all the
-- "sleeping" lines come first, the "finished" lines 10 seconds later.
-- Run: tlua scripts/examples/004_basic.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function worker(i)
  print(("sleeping 10 sec from thread %d"):format(i))
  sleep(10)
  print(("finished sleeping from thread %d"):format(i))
end

for i = 0, 4 do
  local t = threading.Thread{target = worker, args = {i}}
  t:start()
end
