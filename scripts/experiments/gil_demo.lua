-- The GIL experiment (run by scripts/demo): the same CPU-bound and
-- sleep-bound work, with the GIL off and on, side by side.
--
--   tlua scripts/experiments/gil_demo.lua [work]     (work: loop iterations, default 3e7)
--
-- It switches the GIL at run time with threading.set_gil, which is allowed
-- while only the main thread is alive, so both modes run in one process.
local threading = require "threading"

local WORK = math.tointeger(tonumber(arg and arg[1]) or 3e7)
local RUNS = 5

local function cpu_work(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end

local function sleeper(seconds) threading.sleep(seconds) end

-- Runs fn(arg1) in `threads` threads at once; returns wall and CPU time.
local function in_threads(threads, fn, arg1)
  local t0, c0 = threading.monotonic(), os.clock()
  local ts = {}
  for i = 1, threads do
    ts[i] = threading.Thread(fn, arg1)
    ts[i]:start()
  end
  for i = 1, threads do ts[i]:join() end
  return threading.monotonic() - t0, os.clock() - c0
end

local function sequential(n)
  local t0, c0 = threading.monotonic(), os.clock()
  cpu_work(n)
  return threading.monotonic() - t0, os.clock() - c0
end

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

local function cores()
  local p = io.popen("nproc 2>/dev/null")
  local n = p and tonumber(p:read("l"))
  if p then p:close() end
  return n or 1
end

local results = {}
for _, gil in ipairs{false, true} do
  threading.set_gil(gil)
  local before = threading.gil_stats()
  -- Sequential and threaded runs alternate, so that a noisy neighbour
  -- slows both alike; each figure is the median of RUNS.
  local seq, par, cpu, ratios, sleeps = {}, {}, {}, {}, {}
  for i = 1, RUNS do
    seq[i] = sequential(WORK)
    local wall, c = in_threads(2, cpu_work, WORK // 2)
    par[i], cpu[i], ratios[i] = wall, c / wall, wall / seq[i]
    sleeps[i] = in_threads(8, sleeper, 0.2)
  end
  local r = {seq = median(seq), par = median(par), cores_used = median(cpu),
             ratio = median(ratios), sleep = median(sleeps)}
  r.switches = threading.gil_stats().forced_switches - before.forced_switches
  results[gil] = r
end
threading.set_gil(false)

local off, on = results[false], results[true]
local function row(label, a, b) print(string.format("%-40s %12s %12s", label, a, b)) end
local function secs(x) return string.format("%.3f s", x) end
local function ratio(x) return string.format("%.2fx", x) end

print(string.format("tlua GIL experiment: %d cores, %s loop iterations, median of %d runs", cores(), WORK, RUNS))
print()
row("", "GIL off", "GIL on")
row("CPU-bound, 1 thread (sequential)", secs(off.seq), secs(on.seq))
row("CPU-bound, same work split in 2 threads", secs(off.par), secs(on.par))
row("  2 threads / sequential", ratio(off.ratio), ratio(on.ratio))
row("  cores busy (CPU time / wall time)", string.format("%.2f", off.cores_used), string.format("%.2f", on.cores_used))
row("8 threads each sleeping 0.2 s", secs(off.sleep), secs(on.sleep))
row("forced GIL switches", tostring(off.switches), tostring(on.switches))
print()
print("With the GIL off the two threads run on two cores: about half the time.")
print("With it on only one runs Lua at a time (switching every " ..
      threading.getswitchinterval() * 1000 .. " ms): no speed-up, as in CPython.")
print("Sleeping releases the GIL, so the 8 sleepers overlap in both modes.")
print()
local checks = {
  {"GIL off: 2 threads <= 0.6x sequential", off.ratio <= 0.6},
  {"GIL on: 2 threads >= 0.9x sequential", on.ratio >= 0.9},
  {"8 sleepers < 0.6 s, GIL off", off.sleep < 0.6},
  {"8 sleepers < 0.6 s, GIL on", on.sleep < 0.6},
}
for _, c in ipairs(checks) do print(string.format("  [%s] %s", c[2] and "ok" or "MISSED", c[1])) end
