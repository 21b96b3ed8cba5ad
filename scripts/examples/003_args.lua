-- 003_args.lua -- port of "Passing Arguments to Threads" in
-- tutorial 003: positional args, then keyword arguments.
-- Lua has no keyword arguments: Python's kwargs={'start': 1, 'end': 20}
-- becomes one table argument with named fields.
-- The two threads may interleave their output.
-- Run: tlua scripts/examples/003_args.lua
local threading = require "threading"

local function print_nums(start, end_)
  print("Thread started")
  for i = start, end_ - 1 do -- range(start, end)
    print(i)
  end
end

local t = threading.Thread{target = print_nums, args = {1, 20}}
t:start()

local function print_nums_kw(kwargs)
  return print_nums(kwargs.start, kwargs["end"])
end

t = threading.Thread{target = print_nums_kw,
                     args = {{start = 1, ["end"] = 20}}}
t:start()
