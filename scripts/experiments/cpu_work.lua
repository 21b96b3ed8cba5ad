-- The workload for `tlua --compare`: a fixed amount of CPU-bound work
-- split evenly across N threads (arg[1], default 1), and nothing else, so
-- the wall time of the whole process is the figure to compare.
--
--   tlua --compare --threads 1,2,4 --svg cpu.svg scripts/experiments/cpu_work.lua [work]
--     work: total loop iterations, default 3e7
local threading = require "threading"

local n = math.tointeger(tonumber(arg[1])) or 1
local work = math.tointeger(tonumber(arg[2])) or 30000000

local function count(iterations)
  local s = 0
  for i = 1, iterations do s = s + i % 7 end
  return s
end

local threads = {}
for i = 1, n do
  threads[i] = threading.Thread(count, work // n)
  threads[i]:start()
end
for _, t in ipairs(threads) do t:join() end
