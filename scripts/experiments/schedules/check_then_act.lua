-- Check-then-act: two clerks each withdraw 60 from an account of 100 if
-- the balance covers it.  The check and the withdrawal are two steps;
-- between them the other clerk can withdraw too, and the balance goes
-- negative.
-- Explore it:  tlua --explore 200 scripts/experiments/schedules/check_then_act.lua
local threading = require "threading"

local account = threading.shared{balance = 100}
local function withdraw(acct, amount)
  if acct.balance >= amount then
    acct.balance = acct.balance - amount
  end
end
local a = threading.Thread(withdraw, account, 60):start()
local b = threading.Thread(withdraw, account, 60):start()
a:join()
b:join()
print("balance = " .. account.balance)
if account.balance < 0 then os.exit(1) end
