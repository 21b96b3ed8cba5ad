-- 002_lock.lua -- port of threading_lock.py, "Controlling Access to
-- Resources" in tutorial 002: two workers increment a
-- Counter twice each, under its Lock; the values printed are 1, 2, 3, 4.
-- class Counter -> a threading.shared table (fields seen by every thread)
-- holding the value and the Lock; methods are plain functions taking it as
-- self. try/finally -> pcall, then release, then re-raise.
-- print() writes to stdout, logging to stderr (as in Python).
-- Run: tlua scripts/examples/002_lock.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local Counter = {}

function Counter.new(start)
  return threading.shared{lock = threading.Lock(), value = start or 0}
end

function Counter.increment(self, worker_number)
  logging.debug("Waiting for lock")
  self.lock:acquire()
  local ok, err = pcall(function()
    logging.debug("Acquired lock")
    self.value = self.value + 1
    print(("%d by %d"):format(self.value, worker_number))
  end)
  self.lock:release()
  if not ok then error(err, 0) end
end

local function worker(c, worker_number)
  for _ = 1, 2 do
    local pause = math.random()
    logging.debug("Sleeping %0.02f", pause)
    sleep(pause)
    Counter.increment(c, worker_number)
  end
  logging.debug("Done")
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "(%(threadName)-10s) %(message)s",
}

local counter = Counter.new()
for i = 0, 1 do
  local t = threading.Thread{target = worker, args = {counter, i}}
  t:start()
end

logging.debug("Waiting for worker threads")
local main_thread = threading.main_thread()
for _, t in ipairs(threading.enumerate()) do
  if t ~= main_thread then
    t:join()
  end
end
logging.debug("Counter: %d", counter.value)
