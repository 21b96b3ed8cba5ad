-- 003_naming.lua -- port of "Determining and Naming Threads" in
-- tutorial 003: the current thread's ident, and a thread
-- named "printer" (which prints its own name here, to show it).
-- Run: tlua scripts/examples/003_naming.lua
local threading = require "threading"

local function print_nums()
  print(("%s: Thread started"):format(threading.current_thread().name))
  for i = 0, 2 do
    print(i)
  end
end

print(threading.current_thread().ident)

local t = threading.Thread{target = print_nums, name = "printer"}
t:start()
