-- scripts/bench/workloads/single.lua KERNEL SIZE [REPS]: single-threaded CPU-bound
-- Lua code, run by tlua (GIL off and on) and by stock lua5.4 to measure
-- tlua's overhead.  No threading is used: the module is not even loaded,
-- so both interpreters run exactly the same code.
--   KERNEL: fib (recursive calls), loops (integer/float arithmetic in a
--   for loop), tables (table and string work: format, sort, hash, concat,
--   gsub).  Prints "seconds T": the median CPU time of REPS runs.
--   SIZE 0 runs nothing (for startup-only instruction counts).
local kernel, size, reps = arg[1], math.tointeger(tonumber(arg[2])), math.tointeger(tonumber(arg[3] or 3))

local kernels = {}

function kernels.fib(n)
  local function fib(k)
    if k < 2 then return k end
    return fib(k - 1) + fib(k - 2)
  end
  return fib(n)
end

function kernels.loops(n)
  local s, f = 0, 0.0
  for i = 1, n do
    s = s + (i * 3) % 7 // 2
    f = f + i * 0.5
  end
  return s + f
end

function kernels.tables(n)
  local t = {}
  for i = 1, n do t[i] = string.format("k%06d", (i * 7919) % n) end
  table.sort(t)
  local counts = {}
  for i = 1, n do
    local k = t[i]
    counts[k] = (counts[k] or 0) + #k
  end
  local parts = {}
  for k, v in pairs(counts) do parts[#parts + 1] = k .. "=" .. v end
  local s = table.concat(parts, ",")
  s = s:gsub("k0", "K"):upper()
  return #s
end

local f = assert(kernels[kernel], "unknown kernel")
local times = {}
for r = 1, reps do
  local c0 = os.clock()
  if size > 0 then f(size) end
  times[r] = os.clock() - c0
end
table.sort(times)
print("seconds " .. string.format("%.6g", times[(reps + 1) // 2]))
