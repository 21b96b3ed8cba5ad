-- 003_controlling.lua -- port of "Controlling Threads" in
-- tutorial 003: current_thread(), enumerate(), is_alive(),
-- and join with a timeout on a daemon thread.
-- print(threads) of a Python list shows the Thread objects; here the list
-- is printed as [tostring(thread), ...]. print_nums(10) prints 0..9 (the
-- original passes args=(10,) to a two-argument print_nums).
-- Run: tlua scripts/examples/003_controlling.lua
local threading = require "threading"

local function print_nums(n)
  for i = 0, n - 1 do
    print(i)
  end
end

print(threading.current_thread().name .. " Starting")

local threads = threading.enumerate()
local shown = {}
for i, t in ipairs(threads) do shown[i] = tostring(t) end
print("[" .. table.concat(shown, ", ") .. "]")

print(threads[1]:is_alive())

local t = threading.Thread{target = print_nums, args = {10}}
t.daemon = true
t:start()

t:join(5) -- Wait 5 seconds
print("Finished")
