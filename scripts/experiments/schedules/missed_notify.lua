-- A missed notification: the consumer waits on a Condition without a
-- predicate loop.  If the producer's notify comes before the consumer's
-- wait, nobody notifies again: the consumer waits forever (a deadlock:
-- the main thread joins it).  The fix: while not ready.v do cond:wait() end
-- (or cond:wait_for(function() return ready.v end)).
-- Explore it:  tlua --explore 200 scripts/experiments/schedules/missed_notify.lua
local threading = require "threading"

local cond = threading.Condition()
local ready = threading.shared{v = false}
local consumer = threading.Thread(function(c, r)
  c:acquire()
  c:wait() -- the bug: no "while not r.v do ... end"
  local got = r.v
  c:release()
  return got
end, cond, ready):start()
local producer = threading.Thread(function(c, r)
  c:acquire()
  r.v = true
  c:notify()
  c:release()
end, cond, ready):start()
producer:join()
consumer:join()
print("consumer woke, ready = " .. tostring(consumer:result()))
