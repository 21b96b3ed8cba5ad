-- 003_join.lua -- port of "Joining Threads" in tutorial 003:
-- join() blocks the main thread until print_nums is done, so the line
-- printed after it comes last.
-- Run: tlua scripts/examples/003_join.lua
local threading = require "threading"

local function print_nums()
  print("Thread started")
  for i = 0, 9 do
    print(i)
  end
end

local t = threading.Thread{target = print_nums}
t:start()

print("Main: doing something while the thread runs")

t:join() -- Wait for t to finish
print("Main: the thread has finished")
