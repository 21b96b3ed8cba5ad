-- The legacy GIL (CPython <= 3.1) beside the new one (3.2+) and no GIL,
-- on this machine's cores: the two results that made CPython replace it.
--
--   1. Two CPU-bound threads run *slower* than the same work done one
--      after the other: every 100 ticks the holder releases the GIL and at
--      once takes it back; the other thread, woken each time on another
--      core, mostly finds it taken again, so the pair pay a wake-up and a
--      failed attempt per check instead of running.
--   2. An I/O thread next to a CPU-bound one waits far longer for the GIL
--      than with the new GIL: nobody hands it over, the releasing thread
--      usually wins it back (the convoy effect).  The new GIL bounds the
--      wait by the switch interval (5 ms) with its drop request.
--
--   tlua scripts/experiments/legacy_gil.lua [WORK] [SAMPLES] [--no-python]
--     WORK: loop iterations per CPU-bound unit (default 1e7); SAMPLES: 1 ms
--     sleeps of the I/O thread (default 100).  The modes are switched in
--     this one process (threading.set_gil), one after the other.  When
--     found, Python 2.7 (the old GIL) and python3 (the new one) run
--     legacy_gil.py next to this file for the same figures.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/../bench/workloads/lib.lua")
local threading = require "threading"

local work = math.tointeger(tonumber(arg[1] or "1e7") or 1e7) or 10000000
local samples = math.tointeger(tonumber(arg[2] or "100") or 100) or 100
local with_python = arg[3] ~= "--no-python" and arg[1] ~= "--no-python"

local function cpu(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end

local function spin(stop)
  while not stop:is_set() do cpu(10000) end
end

-- Two units one after the other, then in two threads that start their
-- unit together (both are waiting for the GIL when the race begins):
-- seconds each.
local function cpu_pair()
  local t0 = threading.monotonic()
  cpu(work)
  cpu(work)
  local seq = threading.monotonic() - t0
  local go = threading.Event()
  local function unit(ev, n) ev:wait() return cpu(n) end
  local a, b = threading.Thread(unit, go, work):start(), threading.Thread(unit, go, work):start()
  t0 = threading.monotonic()
  go:set()
  a:join()
  b:join()
  return seq, threading.monotonic() - t0
end

-- 1 ms sleeps in the main thread next to a CPU-bound thread: lateness
-- percentiles (ms), the worst, and sleeps per second.
local function io_latency()
  local stop = threading.Event()
  local spinner = threading.Thread(spin, stop):start()
  threading.sleep(0.05)
  local late = {}
  local t_start = threading.monotonic()
  for i = 1, samples do
    local t0 = threading.monotonic()
    threading.sleep(0.001)
    late[i] = (threading.monotonic() - t0 - 0.001) * 1000
  end
  local rate = samples / (threading.monotonic() - t_start)
  stop:set()
  spinner:join()
  local worst = 0
  for _, x in ipairs(late) do worst = math.max(worst, x) end
  return {p50 = lib.percentile(late, 50), p99 = lib.percentile(late, 99), max = worst, rate = rate}
end

local rows = {}
local function measure(label, mode)
  threading.set_gil(mode)
  local before = threading.gil_stats()
  local seq, par = cpu_pair()
  local io = io_latency()
  local after = threading.gil_stats()
  rows[#rows + 1] = {label = label, seq = seq, par = par, io = io,
                     note = mode == "legacy" and ("%d checks, %d releases, %d switches"):format(
                       after.checks - before.checks, after.check_releases - before.check_releases,
                       after.check_switches - before.check_switches)
                       or mode == "new" and ("%d forced switches"):format(after.forced_switches - before.forced_switches)
                       or ""}
end

local initial = threading.gil_mode()
measure("tlua, legacy GIL", "legacy")
measure("tlua, new GIL", "new")
measure("tlua, GIL off", "off")
threading.set_gil(initial)

-- The Python peers, when found: 2.7 (old GIL) and 3 (new GIL).
-- The first of 'names' that runs (a pyenv shim may exist and not run),
-- else the newest pyenv install matching 'glob'.
local function find(names, glob)
  for _, name in ipairs(names) do
    if os.execute(name .. " -c pass >/dev/null 2>&1") then return name end
  end
  local p = io.popen("ls -d ${PYENV_ROOT:-$HOME/.pyenv}/versions/" .. glob .. "/bin/python 2>/dev/null | tail -1")
  local path = p:read("l")
  p:close()
  return path ~= nil and path ~= "" and path or nil
end

local here = arg[0]:match("^(.*)/") or "."
local function python_row(label, exe)
  if not exe then return end
  local p = io.popen(("%s %s/legacy_gil.py %d %d 2>&1"):format(exe, here, work, samples))
  local r = {}
  for k, v in p:read("a"):gmatch("(%S+) (%S+)") do r[k] = tonumber(v) end
  p:close()
  if r.sequential and r.late_p99 then
    rows[#rows + 1] = {label = label, seq = r.sequential, par = r.threaded,
                       io = {p50 = r.late_p50, p99 = r.late_p99, max = r.late_max, rate = r.io_rate}, note = exe}
  end
end
if with_python then
  python_row("CPython 2.7 (old GIL)", find({"python2.7", "python2"}, "2.7*"))
  python_row("CPython 3 (new GIL)", find({"python3"}, "3.1*"))
end

print(("Legacy GIL experiment: %d cores, %d iterations per CPU-bound unit, %d sleeps of 1 ms;"):format(
  threading._cpu_count(), work, samples))
print(("check interval %d VM instructions, switch interval %g ms"):format(threading.getcheckinterval(),
  threading.getswitchinterval() * 1000))
print(("%-24s %10s %10s %9s   %9s %9s %9s %9s   %s"):format("", "2 units", "2 threads", "threads/",
  "I/O late", "p99", "max", "sleeps/s", ""))
print(("%-24s %10s %10s %9s   %9s %9s %9s %9s   %s"):format("", "one by one", "at once", "one by one",
  "p50 ms", "ms", "ms", "", ""))
for _, r in ipairs(rows) do
  print(("%-24s %9.3fs %9.3fs %8.2fx   %9.2f %9.2f %9.2f %9.0f   %s"):format(r.label, r.seq, r.par,
    r.par / r.seq, r.io.p50, r.io.p99, r.io.max, r.io.rate, r.note))
end
print()
print("threads/one by one > 1: the pair is slower than the same work done sequentially.")
print("I/O late: how long a 1 ms sleep really took, minus 1 ms, next to a CPU-bound thread.")
