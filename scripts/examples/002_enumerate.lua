-- 002_enumerate.lua -- port of threading_enumerate.py, "Enumerating All
-- Threads" in tutorial 002: the main thread joins every
-- thread threading.enumerate() lists, skipping itself (joining the current
-- thread would deadlock; tlua raises RuntimeError for it, as Python does).
-- The pause is logged unscaled; EXAMPLE_FAST=1 sleeps a tenth of it.
-- Run: tlua scripts/examples/002_enumerate.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function worker()
  -- thread worker function
  local pause = math.random(1, 5) / 10
  logging.debug("sleeping %0.2f", pause)
  sleep(pause)
  logging.debug("ending")
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "(%(threadName)-10s) %(message)s",
}

for _ = 1, 3 do
  local t = threading.Thread{target = worker, daemon = true}
  t:start()
end

local main_thread = threading.main_thread()
for _, t in ipairs(threading.enumerate()) do
  if t ~= main_thread then
    logging.debug("joining %s", t.name)
    t:join()
  end
end
