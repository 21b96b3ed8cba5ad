-- 004_daemon.lua -- port of "Daemon threads" in tutorial 004:
-- a daemon thread runs while the program does, but does not keep it alive.
-- foo (undefined in the original) beats every 0.1 s, forever; the main
-- thread works 0.35 s and ends; the program exits. Python's setDaemon(True)
-- is `my_thread.daemon = true`.
-- Run: tlua scripts/examples/004_daemon.lua   (EXAMPLE_FAST=1: sleeps / 5)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 5 or s) end

local function foo()
  local beat = 0
  while true do
    beat = beat + 1
    print(("foo: heartbeat %d"):format(beat))
    sleep(0.1)
  end
end

local my_thread = threading.Thread{target = foo}
my_thread.daemon = true
my_thread:start()

sleep(0.35)
print("Main: done, exiting")
