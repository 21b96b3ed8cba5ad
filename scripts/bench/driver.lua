-- scripts/bench/driver.lua: the benchmark driver, run by tlua through
-- scripts/bench/run (see docs/benchmarks.md).
--
--   tlua driver.lua --tlua PATH [--quick] [--out DIR] [--only GROUP,...]
--                   [--compare-to FILE]
--
-- Each figure comes from small workload scripts in this directory, each
-- printing "key value" lines: NAME.lua for tlua (and stock lua5.4), and
-- NAME.py for the CPython peers.  Every figure is printed next to its peer
-- from the same run with the ratio tlua / peer and MET or MISSED against
-- its target; the table is written as markdown and CSV.  Times are medians
-- of several runs, and the two sides' runs alternate so that a noisy
-- neighbour slows both alike.
local threading = require "threading"

local here = arg[0]:match("^(.*)/") or "."
local workloads = here .. "/workloads" -- the programs the driver runs and times

-- A path as the results show it: relative to the repository when inside it.
local function shown_path(path)
  local root = here:match("^(/.+)/scripts/bench$")
  if root and path:sub(1, #root + 1) == root .. "/" then return path:sub(#root + 2) end
  return path
end

---------------------------------------------------------------------------
-- Options
---------------------------------------------------------------------------
local opts = {quick = false, only = nil, out = nil, tlua = nil, compare_to = nil}
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--quick" then opts.quick = true
    elseif a == "--out" then i = i + 1; opts.out = arg[i]
    elseif a == "--only" then
      i = i + 1
      opts.only = {}
      for g in arg[i]:gmatch("[^,]+") do opts.only[g] = true end
    elseif a == "--tlua" then i = i + 1; opts.tlua = arg[i]
    elseif a == "--compare-to" then i = i + 1; opts.compare_to = arg[i]
    elseif a == "-h" or a == "--help" then
      print("usage: scripts/bench/run [--quick] [--out DIR] [--only GROUP,...] [--tlua PATH] [--compare-to FILE]")
      print("groups: single, callgrind, scaling, handoff, threads, memory, lock, queue, transfer, sched")
      os.exit(0)
    else
      io.stderr:write("bench: unknown option ", a, "\n")
      os.exit(2)
    end
    i = i + 1
  end
  assert(opts.tlua, "bench: --tlua PATH is required (use scripts/bench/run)")
  if opts.compare_to then -- read now: it may be the results.csv this run replaces
    local results = dofile((arg[0]:match("^(.*)/") or ".") .. "/results.lua")
    local rows, err = results.read_csv(opts.compare_to)
    if not rows then
      io.stderr:write("bench: --compare-to: ", err, "\n")
      os.exit(2)
    end
    opts.earlier_rows = rows
  end
  opts.out = opts.out or ((opts.tlua:match("^(.*)/") or ".") .. "/bench")
end

local function load_average()
  local f = io.open("/proc/loadavg")
  local s = f and f:read("l") or "?"
  if f then f:close() end
  return s:match("^(%S+ %S+ %S+)") or s
end
local LOAD_AT_START = load_average()

-- Sizes: the full run takes at most 3 minutes on the 2-core development
-- machine, --quick at most 45 s (docs/benchmarks.md, "How long it takes").
local Q = opts.quick
local cfg = {
  rounds = Q and 1 or 3,            -- alternating process runs per figure
  single_rounds = Q and 3 or 5,
  single_sizes = Q and {fib = 29, loops = 2500000, tables = 30000}
                   or {fib = 32, loops = 9000000, tables = 100000},
  callgrind_sizes = {fib = 20, loops = 300000, tables = 5000},
  callgrind_kernels = Q and {"fib"} or {"fib", "loops", "tables"},
  unit_seconds = Q and 0.04 or 0.05, -- one unit of CPU-bound work
  scaling_rounds = Q and 1 or 2, -- processes per interpreter, alternating
  scaling_reps = 3,
  handoff_samples = Q and 100 or 200,
  handoff_rounds = Q and 1 or 3,
  pingpong_count = Q and 1000 or 3000,
  startjoin = Q and 300 or 1000,
  memory_threads = Q and 1000 or 10000,
  lock_count = Q and 300000 or 600000,
  counter_instructions = 10000, -- increments counted by callgrind
  queue_count = Q and 50000 or 100000,
  executor_count = Q and 5000 or 20000,
  instruction_units = Q and 100 or 200, -- threads or tasks counted by callgrind
  transfer_count = Q and 20 or 50,
  explore_check = Q and 500 or 2000, -- threading.check runs
  explore_cli = Q and 200 or 600,    -- tlua --explore runs
}

---------------------------------------------------------------------------
-- Running workloads
---------------------------------------------------------------------------
local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function capture(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, status = p:close()
  return out, ok, status
end

-- Runs a workload; returns its "key value" results, or nil and a reason.
local function run(cmd)
  local out, ok, status = capture(cmd)
  local skip = out:match("^skip ([^\n]*)")
  if skip then return nil, skip end
  if not ok then
    local last = out:match("([^\n]*)\n?$")
    return nil, string.format("failed (status %s): %s", tostring(status), last)
  end
  local r = {}
  for k, v in out:gmatch("([%w_]+) ([^\n]+)") do r[k] = tonumber(v) or v end
  return r
end

local lib = dofile(workloads .. "/lib.lua")

local function median(xs)
  if #xs == 0 then return nil end
  return lib.median(xs)
end

-- Half the spread between the lower and upper quartiles, relative to the median.
local function spread(xs)
  if #xs < 3 then return nil end
  local s = table.move(xs, 1, #xs, 1, {})
  table.sort(s)
  local lo, hi = s[math.max(1, math.floor(#s / 4 + 0.5))], s[math.min(#s, math.ceil(#s * 3 / 4))]
  return (hi - lo) / 2 / median(s)
end

local function command_exists(cmd)
  local _, ok = capture("command -v " .. cmd .. " >/dev/null")
  return ok
end

local function cores()
  return threading._cpu_count and threading._cpu_count() or
         tonumber((capture("nproc"))) or 1
end
local CORES = cores()

-- The interpreters: tlua in both GIL modes, stock lua5.4, CPython(s).
local TLUA = shell_quote(opts.tlua)
local tlua_off = {label = "tlua GIL off", cmd = TLUA .. " -X gil=0", ext = "lua"}
local tlua_on = {label = "tlua GIL on", cmd = TLUA .. " -X gil=1", ext = "lua"}
local stock_lua = command_exists("lua5.4") and {label = "lua5.4", cmd = "lua5.4", ext = "lua"} or nil

-- CPython peers: python3, and a 3.13 from the PATH or else from pyenv's
-- versions; TLUA_BENCH_PYTHONS="exe ..." names the interpreters instead.
local function python_candidates()
  local listed = os.getenv("TLUA_BENCH_PYTHONS")
  local list = {}
  if listed then
    for exe in listed:gmatch("%S+") do list[#list + 1] = exe end
    return list
  end
  list = {"python3", "python3.13"}
  local pyenv = capture([[p=$(pyenv root) && ls -d "$p"/versions/3.13*/bin/python3 | tail -n 1]]):match("^(/[^\n]+)")
  if pyenv then list[#list + 1] = pyenv end
  return list
end

local pythons = {}
do
  local seen = {}
  for _, exe in ipairs(python_candidates()) do
    -- (sys.executable: the real program behind a wrapper such as pyenv's
    -- shim, so that valgrind counts Python and not a shell)
    local out, ok = capture(exe .. [[ -c "import sys; print('%d.%d' % sys.version_info[:2], sys.executable)"]])
    local version, path = out:match("^(%d+%.%d+) ([^\n]+)")
    if ok and version and not seen[version] then
      seen[version] = true
      pythons[#pythons + 1] = {label = "CPython " .. version, ext = "py",
                               cmd = "PYTHONDONTWRITEBYTECODE=1 " .. shell_quote(path)}
    end
  end
end

local function workload(interp, name, ...)
  local parts = {interp.cmd} -- a compiled workload (interp.bin) is its own program
  if not interp.bin then parts[2] = shell_quote(workloads .. "/" .. name .. "." .. interp.ext) end
  for _, a in ipairs{...} do parts[#parts + 1] = shell_quote(a) end
  return table.concat(parts, " ")
end

-- Runs the same workload for several interpreters, alternating them
-- 'rounds' times; returns per interpreter the median of each key (or
-- .skip = reason) and the raw runs.  An argument that is a table gives
-- each interpreter its own value (t[interp]).
local function alternate(interps, rounds, name, ...)
  local args = table.pack(...)
  local function args_for(it)
    local a = {}
    for i = 1, args.n do a[i] = type(args[i]) == "table" and args[i][it] or args[i] end
    return table.unpack(a, 1, args.n)
  end
  local runs, skip = {}, {}
  for _, it in ipairs(interps) do runs[it] = {} end
  for r = 1, rounds do
    for i = 0, #interps - 1 do
      -- rotate the starting interpreter each round
      local it = interps[(i + r - 1) % #interps + 1]
      if not skip[it] then
        local res, why = run(workload(it, name, args_for(it)))
        if res then table.insert(runs[it], res) else skip[it] = why end
      end
    end
  end
  local result = {}
  for _, it in ipairs(interps) do
    if skip[it] then
      result[it] = {skip = skip[it]}
    else
      local m = {runs = runs[it]}
      for k in pairs(runs[it][1]) do
        local xs = {}
        for _, res in ipairs(runs[it]) do
          if type(res[k]) == "number" then xs[#xs + 1] = res[k] end
        end
        m[k] = median(xs)
      end
      result[it] = m
    end
  end
  return result
end

-- The instructions a command runs (valgrind --tool=callgrind, all its
-- threads), or nil (also when the workload skipped: "skip REASON").
-- Leading VAR=value assignments stay in front.
local function callgrind_count(cmd)
  local env = ""
  while true do
    local assignment = cmd:match("^%w+=%S*%s+")
    if not assignment then break end
    env, cmd = env .. assignment, cmd:sub(#assignment + 1)
  end
  local out = capture(env .. "valgrind --tool=callgrind --callgrind-out-file=/dev/null " .. cmd)
  if ("\n" .. out):find("\nskip ") then return nil end
  return tonumber(out:match("Collected : (%d+)"))
end

local HAVE_VALGRIND = command_exists("valgrind")

-- The peers whose instructions are counted: every CPython, except with
-- --quick (valgrind takes 1-3 s just to start a CPython, 5 s a figure:
-- --quick counts tlua's instructions alone).  A list with one peer-less
-- entry when there are none, so that tlua's row is still made.
local function instruction_peers()
  if opts.quick or #pythons == 0 then return {{}} end
  return pythons
end

-- Instructions per unit of a workload whose first argument is a count:
-- (instructions(n) - instructions(1)) / (n - 1): start-up cancels out.
local function instructions_per(it, name, n, ...)
  if not HAVE_VALGRIND then return nil end
  local one, many = callgrind_count(workload(it, name, 1, ...)), callgrind_count(workload(it, name, n, ...))
  return one and many and (many - one) / (n - 1)
end

---------------------------------------------------------------------------
-- The results table
---------------------------------------------------------------------------
local rows = {}
local COLS = "%-50s %13s  %-16s %13s %7s  %-24s %s"

local results = dofile(here .. "/results.lua")
local fmt = results.format

-- row{group=, figure=, value=, unit=, peer=, peer_value=, ratio=,
--     target=, met=(true/false/nil), notes=, na=reason}
local function add(row)
  if row.value == nil and not row.na then row.na = "no result" end
  if row.ratio == nil and type(row.value) == "number" and type(row.peer_value) == "number"
     and row.peer_value ~= 0 then
    row.ratio = row.value / row.peer_value
  end
  row.verdict = row.na and "n/a" or row.met == true and "MET" or row.met == false and "MISSED" or ""
  if row.na then
    row.value_text = "n/a (" .. row.na .. ")"
  else
    row.value_text = fmt(row.value, row.unit)
  end
  row.peer_text = row.peer_value and fmt(row.peer_value, row.unit) or ""
  row.ratio_text = row.ratio and string.format("%.2fx", row.ratio) or ""
  rows[#rows + 1] = row
  print(string.format(COLS, row.figure, row.value_text, row.peer or "", row.peer_text,
                      row.ratio_text, row.target or "", row.verdict ..
                      (row.notes and ("  " .. row.notes) or "")))
  io.stdout:flush()
end

local function section(title)
  print()
  print("== " .. title)
  print(string.format(COLS, "figure", "tlua", "peer", "peer value", "ratio", "target", "verdict / notes"))
end

-- a >= b, or nil when either figure is missing.
local function at_least(a, b)
  if a == nil or b == nil then return nil end
  return a >= b
end

local function at_most(a, b)
  if a == nil or b == nil then return nil end
  return a <= b
end

-- Each group's wall time, for the summary (the run's length is a target too).
local group_times, current_group, group_started = {}, nil, nil
local function end_group()
  if current_group then
    group_times[#group_times + 1] = {current_group, threading.monotonic() - group_started}
  end
  current_group = nil
end

-- Whether to run a group; starts its clock (groups run one after the other).
local function wanted(group)
  if opts.only ~= nil and not opts.only[group] then return false end
  end_group()
  current_group, group_started = group, threading.monotonic()
  return true
end

-- A workload written in C (scripts/bench/workloads/NAME.c), built into the output
-- directory: the machine's own figure, with no interpreter (or only the
-- system's liblua5.4, when 'with_lua'), run beside the others.  nil when
-- no C compiler works.
local function c_floor(name, with_lua)
  local bin = opts.out .. "/" .. name
  local lua = with_lua and "$(pkg-config --cflags --libs lua5.4 2>/dev/null || echo -I/usr/include/lua5.4 -llua5.4)" or ""
  local _, built = capture(string.format("mkdir -p %s && cc -std=c11 -O2 -pthread -o %s %s %s 2>&1",
    shell_quote(opts.out), shell_quote(bin), shell_quote(workloads .. "/" .. name .. ".c"), lua))
  return built and {label = with_lua and "C + liblua" or "C pthreads", cmd = shell_quote(bin), bin = true} or nil
end

local function cores_note(extra) return CORES .. " cores" .. (extra and ("; " .. extra) or "") end

---------------------------------------------------------------------------
-- 1. Single-thread overhead: tlua vs stock lua5.4, timed and in instructions
---------------------------------------------------------------------------
local KERNELS = {"fib", "loops", "tables"}

if wanted("single") then
  section("Single-thread CPU-bound Lua: tlua vs lua5.4 (CPU seconds, median of per-round ratios)")
  if not stock_lua then
    add{group = "single", figure = "single-thread overhead", na = "lua5.4 not installed"}
  else
    for _, k in ipairs(KERNELS) do
      local size = cfg.single_sizes[k]
      local times = {[stock_lua] = {}, [tlua_off] = {}, [tlua_on] = {}}
      local ratios = {[tlua_off] = {}, [tlua_on] = {}}
      local order = {stock_lua, tlua_off, tlua_on}
      for r = 1, cfg.single_rounds do
        local t = {}
        for i = 0, 2 do
          local it = order[(i + r - 1) % 3 + 1]
          local res = assert(run(workload(it, "single", k, size, 1)))
          t[it] = res.seconds
          table.insert(times[it], res.seconds)
        end
        for _, it in ipairs{tlua_off, tlua_on} do table.insert(ratios[it], t[it] / t[stock_lua]) end
      end
      for _, it in ipairs{tlua_off, tlua_on} do
        local limit = it == tlua_off and 1.01 or 1.03
        local ratio = median(ratios[it])
        add{group = "single", figure = string.format("%s(%s), %s", k, size, it.label),
            value = median(times[it]), unit = "s", peer = "lua5.4",
            peer_value = median(times[stock_lua]), ratio = ratio,
            target = string.format("<= %.2fx", limit), met = ratio <= limit,
            notes = string.format("spread +-%.0f%%, %d rounds", 100 * (spread(ratios[it]) or 0),
                                  cfg.single_rounds)}
      end
    end
  end
end

if wanted("callgrind") then
  section("Single-thread instruction counts (valgrind --tool=callgrind; startup subtracted)")
  if not stock_lua then
    add{group = "callgrind", figure = "instruction counts", na = "lua5.4 not installed"}
  elseif not HAVE_VALGRIND then
    add{group = "callgrind", figure = "instruction counts", na = "valgrind not installed"}
  else
    local function instructions(it, name, ...)
      return callgrind_count(workload(it, name, ...))
    end
    local startup = {}
    for _, it in ipairs{stock_lua, tlua_off, tlua_on} do
      startup[it] = instructions(it, "single", "fib", 0, 1)
    end
    for _, it in ipairs{tlua_off, tlua_on} do
      add{group = "callgrind", figure = "startup+exit, " .. it.label, value = startup[it],
          unit = "Ir", peer = "lua5.4", peer_value = startup[stock_lua],
          notes = "informational"}
    end
    for _, k in ipairs(cfg.callgrind_kernels) do
      local size = cfg.callgrind_sizes[k]
      local base = instructions(stock_lua, "single", k, size, 1) - startup[stock_lua]
      for _, it in ipairs{tlua_off, tlua_on} do
        local limit = it == tlua_off and 1.01 or 1.03
        local n = instructions(it, "single", k, size, 1) - startup[it]
        add{group = "callgrind", figure = string.format("%s(%s), %s", k, size, it.label),
            value = n, unit = "Ir", peer = "lua5.4", peer_value = base,
            target = string.format("<= %.2fx", limit), met = n / base <= limit}
      end
    end
  end
end

---------------------------------------------------------------------------
-- 2. CPU-bound scaling
---------------------------------------------------------------------------
if wanted("scaling") then
  section(string.format("CPU-bound scaling: N threads of one unit vs N units in sequence " ..
                        "(medians of %d processes x %d runs, interpreters alternating)",
                        cfg.scaling_rounds, cfg.scaling_reps))
  -- Calibrate one unit of work (about cfg.unit_seconds) per interpreter.
  local interps = {tlua_off, tlua_on}
  for _, p in ipairs(pythons) do interps[#interps + 1] = p end
  -- The same job in C: the parallelism the machine gives right now.
  local floor = c_floor("scaling_floor")
  if floor then interps[#interps + 1] = floor end
  local work = {}
  for _, it in ipairs(interps) do
    local probe = it.bin and 30000000 or it.ext == "py" and 300000 or 3000000
    local res = run(workload(it, "scaling", 1, probe, 1))
    work[it] = res and math.max(1000, math.floor(probe * cfg.unit_seconds / res.sequential)) or probe
  end
  -- Every interpreter's runs alternate with the others' (and with the C
  -- job's), so that a core taken by another job hurts them alike.
  local results = {}
  for _, n in ipairs{1, 2, 4} do
    results[n] = alternate(interps, cfg.scaling_rounds, "scaling", n, work, cfg.scaling_reps)
  end
  local function peer_value(n, key)
    local p = pythons[1]
    return p and results[n][p][key], p and p.label
  end
  for _, n in ipairs{1, 2, 4} do
    local s = results[n][tlua_off].speedup
    local peer_speedup, peer = peer_value(n, "speedup")
    local c = floor and results[n][floor].speedup
    local row = {group = "scaling", figure = string.format("GIL off, %d thread%s: speedup", n, n > 1 and "s" or ""),
                 value = s, unit = "x", peer = peer, peer_value = peer_speedup,
                 notes = cores_note(c and string.format("the same job in C: %.2fx", c))}
    if n == 2 then row.target, row.met = ">= 1.9x", s and s >= 1.9 end
    if n == 4 then
      local s2 = results[2][tlua_off].speedup
      row.target = string.format(">= 2-thread (%.2fx) -3%%", s2 or 0)
      row.met = s and s2 and s >= 0.97 * s2
    end
    add(row)
  end
  for _, n in ipairs{1, 2, 4} do
    local r = results[n][tlua_on]
    local slow = r.threaded and r.threaded / r.sequential
    local pr = pythons[1] and results[n][pythons[1]]
    local row = {group = "scaling", figure = string.format("GIL on, %d thread%s: threaded/sequential time", n, n > 1 and "s" or ""),
                 value = slow, unit = "x", peer = pythons[1] and pythons[1].label,
                 peer_value = pr and pr.threaded and pr.threaded / pr.sequential,
                 target = "<= 1.05x", met = slow and slow <= 1.05, notes = cores_note()}
    add(row)
  end
  for i = 2, #pythons do
    for _, n in ipairs{2, 4} do
      local pr = results[n][pythons[i]]
      add{group = "scaling", figure = string.format("%s, %d threads: speedup (GIL)", pythons[i].label, n),
          value = results[n][tlua_off].speedup, unit = "x", peer = pythons[i].label,
          peer_value = pr.speedup, notes = cores_note("tlua column: GIL off")}
    end
  end
end

---------------------------------------------------------------------------
-- 3. GIL hand-off latency
---------------------------------------------------------------------------
if wanted("handoff") then
  section("GIL hand-off: lateness of a 1 ms sleep next to a CPU-bound thread (" ..
          cfg.handoff_samples .. " samples/run, median of " .. cfg.handoff_rounds .. " runs)")
  local interps = {tlua_on, tlua_off}
  for _, p in ipairs(pythons) do interps[#interps + 1] = p end
  local res = alternate(interps, cfg.handoff_rounds, "handoff", cfg.handoff_samples)
  local on = res[tlua_on]
  local interval = on.switch_interval_ms or 5
  for _, p in ipairs(#pythons > 0 and pythons or {{label = nil}}) do
    for _, pct in ipairs{"p50", "p99"} do
      local key, target, met = pct .. "_ms", nil, nil
      if pct == "p99" then
        target, met = string.format("<= %g ms", interval + 1), at_most(on[key], interval + 1)
      end
      add{group = "handoff", figure = string.format("GIL on, %s wake-up lateness", pct),
          value = on[key], unit = "ms", peer = p.label, peer_value = p.label and res[p][key],
          target = target, met = met,
          notes = cores_note(string.format("switch interval %g ms", interval))}
    end
  end
  for _, pct in ipairs{"p50", "p99"} do
    local v, target, met = res[tlua_off][pct .. "_ms"], nil, nil
    if pct == "p99" then target, met = "<= 1 ms", at_most(v, 1) end
    add{group = "handoff", figure = string.format("GIL off, %s wake-up lateness", pct),
        value = v, unit = "ms", target = target, met = met, notes = cores_note()}
  end
  -- A turn passed between two threads through the primitives threads wait
  -- on: a wake-up each way (with the GIL off, the watch before it).
  local py = pythons[#pythons] -- the newest CPython
  local pp = alternate(interps, cfg.handoff_rounds, "pingpong", cfg.pingpong_count, 1)
  for _, way in ipairs{{"event", "an Event"}, {"semaphore", "a Semaphore"}, {"condition", "a Condition"}} do
    local key = way[1] .. "_us"
    for _, it in ipairs{tlua_off, tlua_on} do
      local v, pv = pp[it][key], py and pp[py][key]
      local target, met -- with the GIL on: informational
      if it == tlua_off then target, met = "<= 5 us", at_most(v, 5) end
      add{group = "handoff", figure = string.format("hand-off through %s, %s", way[2], it.label),
          value = v, unit = "us", peer = py and py.label, peer_value = pv, ratio = v and pv and v / pv,
          target = target, met = met,
          na = pp[it].skip, notes = cores_note("2 threads passing a turn" .. (it == tlua_on and "; informational" or ""))}
    end
  end
end

---------------------------------------------------------------------------
-- 4. Thread start+join
---------------------------------------------------------------------------
if wanted("threads") then
  section("Thread start+join, one after the other (" .. cfg.startjoin .. " per run)")
  local interps = {tlua_off, tlua_on}
  for _, p in ipairs(pythons) do interps[#interps + 1] = p end
  -- The same start/join protocol in plain C: what this machine's thread
  -- creation and wake-ups cost before any interpreter does anything.
  local floor = c_floor("startjoin_floor")
  if floor then interps[#interps + 1] = floor end
  local res = alternate(interps, cfg.rounds, "startjoin", cfg.startjoin, 3)
  local floor_us = floor and res[floor].us_per_thread
  if floor then
    add{group = "threads", figure = "start+join floor: pthread_create, wait, join",
        value = floor_us, unit = "us", notes = "startjoin_floor.c, no Lua; informational"}
  end
  for _, it in ipairs{tlua_off, tlua_on} do
    for _, p in ipairs(pythons) do
      local v, pv = res[it].us_per_thread, res[p].us_per_thread
      -- issue 16: <= 50 us or within 1.15x the C floor of the same run
      local near_floor = v and floor_us and v <= 1.15 * floor_us
      add{group = "threads", figure = "start+join, " .. it.label, value = v, unit = "us",
          peer = p.label, peer_value = pv, target = "<= 50 us (or 1.15x floor), <= peer",
          met = v and pv and (v <= 50 or near_floor) and v <= pv,
          notes = v and floor_us and string.format("%.2fx the C floor (%.0f us)", v / floor_us, floor_us)}
    end
  end
  local n = cfg.instruction_units
  local mine = instructions_per(tlua_off, "startjoin", n, 1)
  for _, p in ipairs(instruction_peers()) do
    add{group = "threads", figure = "start+join instructions per thread, tlua GIL off", value = mine,
        unit = "Ir", peer = p.label, peer_value = p.label and instructions_per(p, "startjoin", n, 1),
        notes = string.format("callgrind, %d threads; informational", n)}
  end
end

---------------------------------------------------------------------------
-- 5. Memory per thread
---------------------------------------------------------------------------
if wanted("memory") then
  local n = cfg.memory_threads
  section(string.format("Memory: %d threads alive at once, all waiting on an Event (VmRSS)", n))
  local tl = run(workload(tlua_off, "memory", n))
  for _, p in ipairs(#pythons > 0 and pythons or {{}}) do
    local pr = p.label and run(workload(p, "memory", n))
    add{group = "memory", figure = string.format("bytes per thread, %d threads", n),
        value = tl and tl.bytes_per_thread, unit = "B", peer = p.label,
        peer_value = pr and pr.bytes_per_thread, na = not tl and "run failed" or nil}
  end
  if tl then
    local total = tl.rss_during
    local at10k = tl.rss_before + tl.bytes_per_thread * 10000
    add{group = "memory", figure = string.format("RSS with %d threads%s", n,
          n == 10000 and "" or " (10,000 extrapolated)"),
        value = n == 10000 and total or at10k, unit = "B", target = "10,000 threads <= 1 GB",
        met = at10k <= 1e9, notes = string.format("started in %.2f s", tl.start_seconds)}
  end
end

---------------------------------------------------------------------------
-- 6. Lock
---------------------------------------------------------------------------
if wanted("lock") then
  section("Lock: operations per second (median of runs)")
  local interps = {tlua_off}
  for _, p in ipairs(pythons) do interps[#interps + 1] = p end
  local acquire = alternate(interps, cfg.rounds, "lock_ops", "acquire", cfg.lock_count, 3)
  local with = alternate(interps, cfg.rounds, "lock_ops", "with", cfg.lock_count, 3)
  for _, p in ipairs(pythons) do
    add{group = "lock", figure = "uncontended lock:acquire(); lock:release()",
        value = acquire[tlua_off].per_second, unit = "/s", peer = p.label .. " with",
        peer_value = with[p].per_second, target = ">= 1x", met = at_least(acquire[tlua_off].per_second, with[p].per_second)}
    add{group = "lock", figure = "uncontended lock:with(f)",
        value = with[tlua_off].per_second, unit = "/s", peer = p.label .. " with",
        peer_value = with[p].per_second, target = ">= 1x", met = at_least(with[tlua_off].per_second, with[p].per_second)}
    add{group = "lock", figure = "uncontended acquire/release (same calls)",
        value = acquire[tlua_off].per_second, unit = "/s", peer = p.label .. " acq/rel",
        peer_value = acquire[p].per_second, target = ">= 1x",
        met = at_least(acquire[tlua_off].per_second, acquire[p].per_second)}
  end
  -- The contended counter: 2 threads adding 1 to a threading.shared
  -- counter, under a Lock and with threading.atomic.add, against
  -- CPython's `with lock: n += 1` (its only way), all runs alternating.
  local ways = {
    {what = "Lock", mode = "contended"},
    {what = "atomic.add", mode = "atomic"},
  }
  local interps, modes = {}, {}
  for _, way in ipairs(ways) do
    way.interps = {}
    for _, it in ipairs{tlua_off, tlua_on} do
      local copy = setmetatable({}, {__index = it}) -- the same interpreter, another mode
      way.interps[it] = copy
      interps[#interps + 1], modes[copy] = copy, way.mode
    end
  end
  for _, p in ipairs(pythons) do interps[#interps + 1], modes[p] = p, "contended" end
  local contended = alternate(interps, cfg.rounds, "lock_ops", modes, cfg.lock_count // 2, 3)
  for _, way in ipairs(ways) do
    for _, it in ipairs{tlua_off, tlua_on} do
      local mine = contended[way.interps[it]]
      for _, p in ipairs(pythons) do
        add{group = "lock", figure = string.format("contended counter, %s, %s", way.what, it.label),
            value = mine.per_second, unit = "/s", peer = p.label .. " with lock",
            peer_value = contended[p].per_second, target = ">= 1x",
            met = at_least(mine.per_second, contended[p].per_second), na = mine.skip,
            notes = cores_note("2 threads; tlua: threading.shared")}
      end
    end
  end
  -- The same in instructions per increment (callgrind runs the threads one
  -- at a time: the work, without the machine's noise).
  if HAVE_VALGRIND then
    local n = cfg.counter_instructions
    local function per_increment(it, mode)
      local one = callgrind_count(workload(it, "lock_ops", mode, 2, 1))
      local many = callgrind_count(workload(it, "lock_ops", mode, n + 2, 1))
      return one and many and (many - one) / n
    end
    local peers = {}
    for _, p in ipairs(instruction_peers()) do peers[p] = p.label and per_increment(p, "contended") end
    for _, way in ipairs(ways) do
      local mine = per_increment(tlua_on, way.mode)
      for _, p in ipairs(instruction_peers()) do
        add{group = "lock", figure = string.format("contended counter, Ir per increment, %s", way.what),
            value = mine, unit = "Ir", peer = p.label and p.label .. " with lock", peer_value = peers[p],
            notes = string.format("callgrind, %d increments, tlua GIL on; informational", n)}
      end
    end
    -- One access to a shared table, in one thread (before issue 16: 937
    -- instructions a read of an integer, 987 a write).
    for _, op in ipairs{{"read", "s.n (an integer)"}, {"write", "s.n = i"}, {"read_str", "s.s (a short string)"},
                        {"write_str", 's.s = "ready"'}, {"add", 'atomic.add(s, "n", 1)'}} do
      add{group = "lock", figure = "shared table, Ir per " .. op[2],
          value = instructions_per(tlua_on, "shared_ops", n, op[1]), unit = "Ir",
          notes = "callgrind, tlua GIL on, one thread; informational"}
    end
  end
end

---------------------------------------------------------------------------
-- 7. Queue and executor
---------------------------------------------------------------------------
local function throughput_rows(group, title, name, count, target, extra)
  local interps = {tlua_off, tlua_on}
  for _, p in ipairs(pythons) do interps[#interps + 1] = p end
  local res = alternate(interps, cfg.rounds, name, count, 3, extra)
  for _, it in ipairs{tlua_off, tlua_on} do
    for _, p in ipairs(#pythons > 0 and pythons or {{}}) do
      local v, pv = res[it].per_second, p.label and res[p].per_second
      local ratio = v and pv and v / pv
      add{group = group, figure = title .. ", " .. it.label, value = v, unit = "/s",
          peer = p.label, peer_value = pv, target = string.format(">= %gx", target),
          met = ratio and ratio >= target, na = res[it].skip, notes = cores_note()}
    end
  end
end

if wanted("queue") then
  section("Queue and executor throughput (median of runs)")
  throughput_rows("queue", "Queue items/s, 1 producer -> main", "queue_items", cfg.queue_count, 3, 0)
  throughput_rows("queue", "ThreadPoolExecutor(2) tasks/s", "executor_tasks", cfg.executor_count, 2, 2)
  -- Every kind of tlua queue against CPython's fastest queue, the C SimpleQueue
  -- (3.13's where there is one), for integers and short strings.
  local bars = {}
  for _, p in ipairs(pythons) do if p.label:find("3.13", 1, true) then bars = {p} end end
  if #bars == 0 then bars = pythons end
  local interps = {tlua_off, tlua_on}
  for _, p in ipairs(bars) do interps[#interps + 1] = p end
  -- The simplest blocking queue in C, a ring under one mutex: informational.
  local floor = c_floor("queue_floor")
  if floor then
    local res = alternate({floor}, cfg.rounds, "queue_floor", cfg.queue_count, 1)[floor]
    add{group = "queue", figure = "C floor: a ring under a mutex + condvar, producer thread -> main",
        value = res.per_second, unit = "/s", na = res.skip, notes = "queue_floor.c, no Lua; informational"}
  end
  for _, item in ipairs{"int", "str"} do
    for _, kind in ipairs{"Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"} do
      local kinds = {[tlua_off] = kind, [tlua_on] = kind}
      for _, p in ipairs(bars) do kinds[p] = "SimpleQueue" end
      local res = alternate(interps, cfg.rounds, "queue_items", cfg.queue_count, 1, 0, kinds, item)
      for _, it in ipairs{tlua_off, tlua_on} do
        for _, p in ipairs(#bars > 0 and bars or {{}}) do
          local v, pv = res[it].per_second, p.label and res[p].per_second
          add{group = "queue", figure = string.format("%s %s items/s, %s", kind, item == "int" and "integer" or "short string", it.label),
              value = v, unit = "/s", peer = p.label and p.label .. " SimpleQueue", peer_value = pv,
              target = ">= 1x", met = v and pv and v >= pv, na = res[it].skip, notes = cores_note()}
        end
      end
    end
  end
  -- The same work counted in instructions (stable where the rates are not).
  local n = cfg.instruction_units
  local mine = instructions_per(tlua_on, "executor_tasks", n, 1, 2)
  for _, p in ipairs(instruction_peers()) do
    local theirs = p.label and instructions_per(p, "executor_tasks", n, 1, 2)
    add{group = "queue", figure = "ThreadPoolExecutor(2) instructions per task, tlua GIL on",
        value = mine, unit = "Ir", peer = p.label, peer_value = theirs,
        notes = string.format("callgrind, %d tasks; informational", n)}
  end
end

---------------------------------------------------------------------------
-- 8. Value transfer
---------------------------------------------------------------------------
if wanted("transfer") then
  section("Copying a value to another thread (Queue put + get) vs building it in one state")
  for _, kind in ipairs{"string", "table"} do
    local res = alternate({tlua_off}, cfg.rounds, "transfer", kind, cfg.transfer_count, 7)[tlua_off]
    local what = kind == "string" and "1 MiB string" or "10,000-entry table"
    add{group = "transfer", figure = what .. ": copy vs build", value = res.transfer_us,
        unit = "us", peer = res.build_us and (kind == "string" and "string.rep" or "loop build"),
        peer_value = res.build_us, ratio = res.ratio, target = "<= 2x",
        met = res.ratio and res.ratio <= 2, na = res.skip}
  end
  -- The same copies between two states of one thread, straight through a
  -- buffer: the interning the issue calls the floor, and nothing else.
  local floor = c_floor("roundtrip_floor", true)
  local interps = {tlua_off, floor}
  local res = alternate(interps, cfg.rounds, "transfer", "roundtrip", cfg.transfer_count, 3)
  local trip, floor_ms = res[tlua_off], floor and res[floor].round_trip_ms
  if floor then
    add{group = "transfer", figure = "round trip floor: the same copies, one thread, no queue",
        value = floor_ms, unit = "ms", na = res[floor].skip, notes = "roundtrip_floor.c, liblua only; informational"}
  end
  local v = trip.round_trip_ms
  -- issue 16: <= 1 ms; "the decode side of strings is the floor": within
  -- 1.15x the floor of the same run counts too (as start+join's)
  add{group = "transfer", figure = "10,000-string table round trip (to a thread and back)",
      value = v, unit = "ms", target = "<= 1 ms (or 1.15x floor)",
      met = v and (v <= 1 or (floor_ms and v <= 1.15 * floor_ms)), na = trip.skip,
      notes = "2 encodes + 2 decodes; each decode interns 10,000 strings" ..
        (v and floor_ms and string.format("; %.2fx the C floor (%.2f ms)", v / floor_ms, floor_ms) or "")}
end

---------------------------------------------------------------------------
-- 9. Deterministic schedules: exploration speed and the scheduler's cost
---------------------------------------------------------------------------
if wanted("sched") then
  section("Deterministic schedules: exploring the lost-update program")
  local res = alternate({tlua_off}, cfg.rounds, "explore_check", cfg.explore_check, 3)[tlua_off]
  add{group = "sched", figure = "threading.check schedules/s (in-process)", value = res.per_second,
      unit = "/s", target = ">= 2000/s", met = at_least(res.per_second, 2000), na = res.skip,
      notes = string.format("%d runs; 2 threads each", cfg.explore_check)}
  local out = capture(string.format("%s --explore %d --jobs %d %s", shell_quote(opts.tlua), cfg.explore_cli, CORES,
                                    shell_quote(workloads .. "/lost_update_run.lua")))
  local rate = tonumber(out:match("%(([%d.]+) runs/s%)"))
  add{group = "sched", figure = "tlua --explore schedules/s (child processes)", value = rate, unit = "/s",
      target = ">= 200/s", met = at_least(rate, 200), na = rate == nil and "no result" or nil,
      notes = string.format("%d runs, --jobs %d", cfg.explore_cli, CORES)}
  if HAVE_VALGRIND then
    local size = cfg.callgrind_sizes.loops
    local function count(x)
      local script = shell_quote(workloads .. "/single.lua")
      local base = callgrind_count(string.format("%s %s %s loops 0 1", shell_quote(opts.tlua), x, script))
      local full = callgrind_count(string.format("%s %s %s loops %d 1", shell_quote(opts.tlua), x, script, size))
      return base and full and full - base
    end
    local sched, gil = count("-X sched=rr"), count("-X gil=1")
    add{group = "sched", figure = string.format("loops(%d), one thread, -X sched=rr", size), value = sched,
        unit = "Ir", peer = "tlua GIL on", peer_value = gil, target = "<= 1.01x",
        met = sched and gil and sched <= 1.01 * gil, notes = "callgrind; no preemption hook while one thread runs"}
  else
    add{group = "sched", figure = "-X sched cost on one thread", na = "valgrind not installed"}
  end
end

---------------------------------------------------------------------------
-- Output files
---------------------------------------------------------------------------
local function build_type()
  local dir = opts.tlua:match("^(.*)/") or "."
  local f = io.open(dir .. "/CMakeCache.txt")
  if not f then return "unknown" end
  local t = f:read("a"):match("CMAKE_BUILD_TYPE:STRING=([^\n]*)")
  f:close()
  return (t == nil or t == "") and "default (RelWithDebInfo)" or t
end

end_group()
local total_seconds = 0
local timings = {}
for _, g in ipairs(group_times) do
  total_seconds = total_seconds + g[2]
  timings[#timings + 1] = string.format("%s %.0f s", g[1], g[2])
end

os.execute("mkdir -p " .. shell_quote(opts.out))
local header = {
  string.format("tlua benchmarks, %s%s", os.date("%Y-%m-%d %H:%M"), Q and " (--quick)" or ""),
  string.format("machine: %d cores; load average (1, 5, 15 min) at the start: %s, at the end: %s%s%s",
                CORES, LOAD_AT_START, load_average(),
                (opts.only == nil or opts.only.memory) and " (counting the memory group's own threads)" or "",
                tonumber(LOAD_AT_START:match("^%S+")) > 0.5 and
                  " -- other jobs were running: scaling figures are unreliable" or ""),
  string.format("tlua: %s (build type %s); peers: %s", shown_path(opts.tlua), build_type(),
                table.concat((function()
                  local t = {stock_lua and "lua5.4" or nil}
                  for _, p in ipairs(pythons) do t[#t + 1] = p.label end
                  return t
                end)(), ", ")),
  "ratio = tlua / peer; times and rates are medians of several runs, the two sides alternating.",
  string.format("time per group: %s; %.0f s in all", table.concat(timings, ", "), total_seconds),
}

-- --compare-to: each figure against the earlier run's.
local comparison
if opts.earlier_rows then
  local changes, only_now, only_before = results.compare(opts.earlier_rows, rows)
  comparison = {results.report(changes, only_now, only_before, opts.compare_to)}
end

local md = io.open(opts.out .. "/results.md", "w")
for _, h in ipairs(header) do md:write(h, "  \n") end
md:write("\n| group | figure | tlua | peer | peer value | ratio | target | verdict | notes |\n")
md:write("|---|---|---:|---|---:|---:|---|---|---|\n")
for _, r in ipairs(rows) do
  md:write(string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.group, r.figure,
                         r.value_text, r.peer or "", r.peer_text, r.ratio_text,
                         r.target or "", r.verdict, r.notes or ""))
end
md:close()

local function csv(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end
local f = io.open(opts.out .. "/results.csv", "w")
f:write("group,figure,value,unit,peer,peer_value,ratio,target,verdict,cores,notes\n")
for _, r in ipairs(rows) do
  local fields = {r.group, r.figure, r.na and ("n/a (" .. r.na .. ")") or r.value, r.unit,
                  r.peer, r.peer_value, r.ratio and string.format("%.4f", r.ratio),
                  r.target, r.verdict, CORES, r.notes}
  for i = 1, 11 do fields[i] = csv(fields[i]) end
  f:write(table.concat(fields, ","), "\n")
end
f:close()

if comparison then
  local md_out = io.open(opts.out .. "/results.md", "a")
  md_out:write("\n## Changes against ", opts.compare_to, "\n\n", table.concat(comparison[2], "\n"), "\n")
  md_out:close()
  print()
  for _, line in ipairs(comparison[1]) do print(line) end
end

local met, missed = 0, 0
for _, r in ipairs(rows) do
  if r.verdict == "MET" then met = met + 1 elseif r.verdict == "MISSED" then missed = missed + 1 end
end
print()
for _, h in ipairs(header) do print(h) end
print(string.format("%d targets met, %d missed; wrote %s/results.md and results.csv", met, missed, opts.out))
