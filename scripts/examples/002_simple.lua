-- 002_simple.lua -- port of threading_simple.py, "Argument to thread" in
-- tutorial 002 (PyMOTW threading): five threads, each
-- given its number as argument.
-- Run: tlua scripts/examples/002_simple.lua
local threading = require "threading"

local function worker(num)
  -- thread worker function
  print(("Worker: %s"):format(num))
end

local threads = {}
for i = 0, 4 do
  local t = threading.Thread{target = worker, args = {i}}
  threads[#threads + 1] = t
  t:start()
end
