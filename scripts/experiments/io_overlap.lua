-- I/O-bound overlap: N threads each wait for "I/O": a 0.2 s
-- threading.sleep, a 0.2 s external command run by os.execute, then one
-- whose output is read through io.popen.
-- Waiting releases the GIL, so the waits overlap whether the GIL is on or
-- off: N threads take about as long as one.  This is why threads help
-- I/O-bound Python programs despite the GIL.
--
--   tlua [-X gil=0|1] scripts/experiments/io_overlap.lua [threads]   (default 8)
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/../bench/workloads/lib.lua")
local threading = require "threading"

local n = lib.int_arg(1, 8)
local WAIT = 0.2

local function sleeper(seconds) threading.sleep(seconds) end

local function command(seconds)
  assert(os.execute("sleep " .. seconds))
end

local function reader(seconds)
  local p = assert(io.popen("sleep " .. seconds .. "; echo done"))
  local out = p:read("a")
  p:close()
  assert(out == "done\n")
end

local function in_threads(fn)
  local t0 = threading.monotonic()
  local ts = {}
  for i = 1, n do
    ts[i] = threading.Thread(fn, WAIT)
    ts[i]:start()
  end
  for i = 1, n do ts[i]:join() end
  return threading.monotonic() - t0
end

print(string.format("I/O overlap, GIL %s, %d cores, %d threads each waiting %.1f s",
                    threading.gil_enabled() and "on" or "off", threading._cpu_count(), n, WAIT))
for _, case in ipairs{{"threading.sleep", sleeper}, {"os.execute('sleep ...')", command},
                      {"io.popen('sleep ...')", reader}} do
  local wall = in_threads(case[2])
  print(string.format("  %-24s %.3f s  (one after the other: %.1f s; overlap %.1fx)",
                      case[1], wall, n * WAIT, n * WAIT / wall))
end
print("Each wait releases the GIL, so the waits overlap in both GIL modes.")
print("io.popen overlaps less: Lua's io.popen calls fflush(NULL), which waits for the")
print("stdio lock of every open FILE, and another thread's p:read() holds its pipe's")
print("lock until the command's output ends.")
