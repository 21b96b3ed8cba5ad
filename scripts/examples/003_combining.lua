-- 003_combining.lua -- port of "Combining Threads" in
-- tutorial 003: three threads started together, joined,
-- then "All threads finished!". The original does not define the three
-- functions; here print_chars(c, n) prints c n times on one line,
-- print_nums(a, b) the numbers a..b-1, print_letters(c, n) n letters from c
-- on (wrapping after z), 26 to a line.
-- Run: tlua scripts/examples/003_combining.lua
local threading = require "threading"

local function print_chars(c, n)
  print(c:rep(n))
end

local function print_nums(start, end_)
  for i = start, end_ - 1 do
    print(i)
  end
end

local function print_letters(first, n)
  local line = {}
  local base = first:byte() - ("A"):byte()
  for i = 0, n - 1 do
    line[#line + 1] = string.char(("A"):byte() + (base + i) % 26)
    if #line == 26 or i == n - 1 then
      print(table.concat(line))
      line = {}
    end
  end
end

-- Threads
local t1 = threading.Thread{target = print_chars, args = {"A", 100}}
local t2 = threading.Thread{target = print_nums, args = {1, 20}}
local t3 = threading.Thread{target = print_letters, args = {"C", 75}}

-- Start threads
t1:start()
t2:start()
t3:start()

-- Wait for them to finish
t1:join()
t2:join()
t3:join()

print("All threads finished!")
