-- scripts/bench/workloads/lib.lua: helpers shared by the Lua workloads of the
-- benchmark suite (loaded by both tlua and stock lua5.4).
--
-- Every workload prints its results as "key value" lines on stdout, which
-- the driver (scripts/bench/driver.lua) parses; the Python peers
-- (benchlib.py) print the same format.
local M = {}

local ok, threading = pcall(require, "threading")
M.threading = ok and threading or nil

-- Wall-clock seconds (monotonic) under tlua; CPU seconds under a stock
-- lua5.4 without the module (only single-threaded kernels run there).
M.now = M.threading and M.threading.monotonic or os.clock

function M.median(xs)
  local s = table.move(xs, 1, #xs, 1, {})
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- Nearest-rank percentile (p in 0..100).
function M.percentile(xs, p)
  local s = table.move(xs, 1, #xs, 1, {})
  table.sort(s)
  local i = math.ceil(p / 100 * #s)
  return s[math.max(1, math.min(#s, i))]
end

function M.report(key, value)
  if math.type(value) == "float" then value = string.format("%.6g", value) end
  io.write(key, " ", tostring(value), "\n")
end

-- Resident set size of this process in bytes (Linux).
function M.rss()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s*(%d+)")
    if kb then return tonumber(kb) * 1024 end
  end
end

-- The integer argument i, or a default.
function M.int_arg(i, default)
  local v = arg and arg[i] and tonumber(arg[i])
  return v and math.tointeger(v) or default
end

return M
