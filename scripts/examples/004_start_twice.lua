-- 004_start_twice.lua -- port of "Basics of multithreading" in
-- tutorial 004: start() runs foo on a new thread; once it
-- has run, calling start() again raises RuntimeError.
-- Run: tlua scripts/examples/004_start_twice.lua
local threading = require "threading"

local function foo()
  print("Hello threading!")
end

local my_thread = threading.Thread{target = foo}

my_thread:start() -- prints 'Hello threading!'
my_thread:join()

local ok, err = pcall(my_thread.start, my_thread)
print(ok and "started again?!" or ("second start(): " .. tostring(err)))
