-- A lock-order deadlock: two transfers take the same two locks in
-- opposite orders, after a little work of their own.  Most schedules pass;
-- one where each holds its first lock when the other asks for it
-- deadlocks (tlua reports who waits for what, and exits with status 3).
-- Explore it:  tlua --explore 200 scripts/experiments/schedules/lock_order.lua
local threading = require "threading"

local accounts = {threading.Lock(), threading.Lock()}
local balance = threading.shared{[1] = 100, [2] = 100}
local function transfer(from, to, locks, bal)
  local fee = 0
  for i = 1, 3 do fee = fee + i end -- some work first
  locks[from]:acquire()
  locks[to]:acquire()
  bal[from], bal[to] = bal[from] - 10 - fee, bal[to] + 10
  locks[to]:release()
  locks[from]:release()
end
local a = threading.Thread(transfer, 1, 2, accounts, balance):start()
local b = threading.Thread(transfer, 2, 1, accounts, balance):start()
a:join()
b:join()
print(("balances %d %d"):format(balance[1], balance[2]))
