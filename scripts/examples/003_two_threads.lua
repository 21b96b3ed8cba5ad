-- 003_two_threads.lua -- port of the two-thread snippet in "Starting a
-- Thread", tutorial 003 (t1 = print_nums, t2 =
-- print_letters, started almost simultaneously). print_letters is not
-- defined in the original; here it prints a to j. The two outputs may
-- interleave.
-- Run: tlua scripts/examples/003_two_threads.lua
local threading = require "threading"

local function print_nums()
  for i = 0, 9 do
    print(i)
  end
end

local function print_letters()
  for c in ("abcdefghij"):gmatch(".") do
    print(c)
  end
end

local t1 = threading.Thread{target = print_nums}
local t2 = threading.Thread{target = print_letters}

t1:start()
t2:start()
