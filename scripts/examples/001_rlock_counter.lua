-- 001_rlock_counter.lua -- port of the RLock counter in "Basic synchronization
-- using Lock", tutorial 001.
-- class Counter -> a threading.shared table (its fields are seen by every
-- thread) holding the value and the RLock; the method is a plain function
-- taking the counter as self, submitted as executor:submit(Counter.update,
-- database, index) -- Python's bound method database.update.
-- The read-sleep-write in update() would lose updates without the lock; with
-- it the 25 updates run one after the other and the ending value is 25.
-- Run: tlua scripts/examples/001_rlock_counter.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local Counter = {}

function Counter.new()
  return threading.shared{value = 0, _lock = threading.RLock()}
end

function Counter.update(self, name) -- luacheck: ignore name
  local _ <close> = self._lock:hold() -- with self._lock:
  local local_copy = self.value
  local_copy = local_copy + 1
  sleep(0.1)
  self.value = local_copy
end

local database = Counter.new()
print(("Testing update. Starting value is %d."):format(database.value))
do
  local executor <close> = threading.ThreadPoolExecutor{max_workers = 25}
  for index = 0, 24 do
    executor:submit(Counter.update, database, index)
  end
end
print(("Testing update. Ending value is %d"):format(database.value))
