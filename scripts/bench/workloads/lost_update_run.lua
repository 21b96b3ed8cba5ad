-- scripts/bench/workloads/lost_update_run.lua: one run of the lost-update
-- program (two threads, three unguarded increments each), the script that
-- the bench explores with `tlua --explore`.
local threading = require "threading"
local c = threading.shared{n = 0}
local function add(s) for _ = 1, 3 do s.n = s.n + 1 end end
local a, b = threading.Thread(add, c):start(), threading.Thread(add, c):start()
a:join()
b:join()
print("counter = " .. c.n)
