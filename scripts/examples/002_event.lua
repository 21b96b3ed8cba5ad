-- 002_event.lua -- port of threading_event.py, "Signaling Between Threads"
-- in tutorial 002: "block" waits on the Event without a
-- timeout; "nonblock" waits 2 s at a time and does other work between
-- waits; the main thread sets the event after 5 s.
-- Run: tlua scripts/examples/002_event.lua   (EXAMPLE_FAST=1: times / 10)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function seconds(s) return FAST and s / 10 or s end

local function wait_for_event(e)
  -- Wait for the event to be set before doing anything
  logging.debug("wait_for_event starting")
  local event_is_set = e:wait()
  logging.debug("event set: %s", event_is_set)
end

local function wait_for_event_timeout(e, t)
  -- Wait t seconds and then timeout
  while not e:is_set() do
    logging.debug("wait_for_event_timeout starting")
    local event_is_set = e:wait(t)
    logging.debug("event set: %s", event_is_set)
    if event_is_set then
      logging.debug("processing event")
    else
      logging.debug("doing other work")
    end
  end
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "(%(threadName)-10s) %(message)s",
}

local e = threading.Event()
local t1 = threading.Thread{
  name = "block",
  target = wait_for_event,
  args = {e},
}
t1:start()

local t2 = threading.Thread{
  name = "nonblock",
  target = wait_for_event_timeout,
  args = {e, seconds(2)},
}
t2:start()

logging.debug("Waiting before calling Event.set()")
threading.sleep(seconds(5))
e:set()
logging.debug("Event is set")
