-- A lost update: two threads add 1 to a shared counter three times each,
-- without a lock.  Each read and each write is atomic; the pair is not.
-- Explore it:  tlua --explore 200 scripts/experiments/schedules/lost_update.lua
-- Replay one:  tlua -X sched=pct:7:3 scripts/experiments/schedules/lost_update.lua
local threading = require "threading"

local counter = threading.shared{n = 0}
local function add(c)
  for _ = 1, 3 do c.n = c.n + 1 end
end
local a, b = threading.Thread(add, counter):start(), threading.Thread(add, counter):start()
a:join()
b:join()
print("counter = " .. counter.n)
if counter.n ~= 6 then os.exit(1) end
