-- 003_start_thread.lua -- port of "Starting a Thread" in
-- tutorial 003: the main thread goes on after start(), so
-- "Main thread" may appear anywhere among the thread's lines.
-- Run: tlua scripts/examples/003_start_thread.lua
local threading = require "threading"

local function print_nums()
  print("Thread started")
  for i = 0, 9 do
    print(i)
  end
end

local t = threading.Thread{target = print_nums}
t:start()

print("Main thread")
