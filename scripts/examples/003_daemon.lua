-- 003_daemon.lua -- port of "Daemon Threads" in tutorial 003:
-- background_print (not defined in the original; here it prints a numbered
-- tick every 0.1 s, forever) runs as a daemon; the program exits when the
-- main thread is done, without waiting for it.
-- Run: tlua scripts/examples/003_daemon.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function background_print()
  local n = 0
  while true do
    n = n + 1
    print(("background: tick %d"):format(n))
    sleep(0.1)
  end
end

local t = threading.Thread{target = background_print}
t.daemon = true
t:start()

sleep(0.35)
print("Main: exiting; the daemon thread is abandoned")
