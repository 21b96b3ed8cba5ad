-- threading.explore: `tlua --explore N`, a schedule explorer.  src/host
-- calls main(argv, exe) with the words after --explore.
--
-- Runs a script N times in child tlua processes, each under its own
-- deterministic schedule (-X sched=KIND:SEED, seeds 1..N), up to J at a
-- time (worker threads, each waiting for its child), and reports: how many
-- runs failed (a non-zero exit status, an uncaught error in any thread, a
-- deadlock, or stdout not matching --expect), a table of the distinct
-- outcomes (the last line of stdout) with their counts, and the first
-- failing seed with its error output and the command that replays it.
-- Exits non-zero if a run failed.  With pct, each run's step horizon is
-- the longest run seen so far (as shuttle's PCT learns it), written into
-- the replay command.  docs/tools.md shows it at work.
local threading = require "threading"

local M = {}

local USAGE = [[
usage: tlua --explore N [options] script.lua [args]
  --sched KIND        random, pct[:DEPTH] (default pct:3) or rr
  --expect PATTERN    a run whose stdout does not match this Lua pattern fails
  --jobs J            runs at a time (default: the number of cores)
  --seed S            the first seed (default 1)
  -X NAME=VALUE       an -X option for every run (repeatable)]]

local output = require "threading._output"
local quote = output.shell_quote

local function usage_error(msg)
  io.stderr:write("tlua --explore: ", msg, "\n", USAGE, "\n")
  return false
end

local function positive(v)
  local n = math.tointeger(tonumber(v))
  return n and n >= 1 and n or nil
end

-- Returns the options, or nil and a message.
local function parse(argv)
  local o = {sched = "pct", depth = 3, jobs = threading._cpu_count(), seed = 1, xs = {}, args = {}}
  o.runs = positive(argv[1])
  if not o.runs then return nil, "the number of runs must come first: tlua --explore N script.lua" end
  local i = 2
  while argv[i] do
    local a, v = argv[i], argv[i + 1]
    if a == "--" then i = i + 1; break end
    if a:sub(1, 1) ~= "-" or a == "-" then break end
    if a == "--sched" then
      local kind, depth = tostring(v):match("^(%a+):?(%d*)$")
      if kind ~= "random" and kind ~= "pct" and kind ~= "rr" or (depth ~= "" and kind ~= "pct") then
        return nil, "--sched takes random, pct, pct:DEPTH or rr, not " .. tostring(v)
      end
      o.sched, o.depth = kind, depth ~= "" and tonumber(depth) or 3
      if o.depth < 1 or o.depth > 16 then return nil, "--sched pct:DEPTH: DEPTH is 1 to 16" end
    elseif a == "--expect" then
      if v == nil or not pcall(string.find, "", v) then return nil, "--expect needs a Lua pattern" end
      o.expect = v
    elseif a == "--jobs" then
      o.jobs = positive(v)
      if not o.jobs then return nil, "--jobs needs a positive integer" end
    elseif a == "--seed" then
      o.seed = math.tointeger(tonumber(v))
      if not o.seed or o.seed < 0 then return nil, "--seed needs a non-negative integer" end
    elseif a == "-X" then
      if not tostring(v):match("^[%a_]+=.+$") then return nil, "-X needs NAME=VALUE" end
      if v:match("^sched=") then return nil, "the schedule is --explore's to choose: use --sched" end
      o.xs[#o.xs + 1] = v
    else
      return nil, "unknown option " .. a
    end
    i = i + 2
  end
  o.script = argv[i]
  if not o.script then return nil, "no script given" end
  local script = io.open(o.script, "r")
  if not script then return nil, "cannot read the script " .. o.script end
  script:close()
  for k = i + 1, #argv do o.args[#o.args + 1] = argv[k] end
  return o
end

-- The schedule of a run: "pct:7:3:120".
local function spec(o, seed, horizon)
  if o.sched == "rr" then return "rr" end
  if o.sched == "random" then return ("random:%d"):format(seed) end
  return horizon > 0 and ("pct:%d:%d:%d"):format(seed, o.depth, horizon) or ("pct:%d:%d"):format(seed, o.depth)
end

local function command(exe, o, schedule, tmp)
  local cmd = {quote(exe), "--rusage", quote(tmp .. ".ru"), "-X", "sched=" .. schedule}
  for _, x in ipairs(o.xs) do cmd[#cmd + 1] = "-X " .. quote(x) end
  cmd[#cmd + 1] = quote(o.script)
  for _, a in ipairs(o.args) do cmd[#cmd + 1] = quote(a) end
  return table.concat(cmd, " ")
end

-- The replay command a user types.
local function replay(o, schedule)
  local words = {"tlua", "-X", "sched=" .. schedule}
  for _, x in ipairs(o.xs) do words[#words + 1] = "-X " .. x end
  words[#words + 1] = o.script
  for _, a in ipairs(o.args) do words[#words + 1] = quote(a) end
  return table.concat(words, " ")
end

-- A worker thread: runs the runs it is given until the queue is shut
-- down; each result goes to 'done'.
local function worker(todo, done)
  local function read(path) -- (a file of the run's: gone once read)
    local s = output.read_file(path) or ""
    os.remove(path)
    return s
  end
  for job in todo:items() do
    local _, how, code = os.execute(job.cmd .. " >" .. quote(job.tmp .. ".out") .. " 2>" .. quote(job.tmp .. ".err"))
    local ru = read(job.tmp .. ".ru")
    done:put{seed = job.seed, schedule = job.schedule, status = how == "signal" and 128 + code or code,
             out = read(job.tmp .. ".out"), err = read(job.tmp .. ".err"),
             steps = tonumber(ru:match("steps (%d+)")) or 0}
  end
end

local function last_line(out)
  local last
  for line in out:gmatch("[^\n]+") do last = line end
  return last or "(no output)"
end

-- Why a run failed, or nil.
local function failure(o, r)
  if r.status == 3 then return "deadlock" end
  if r.status ~= 0 then return "exit status " .. r.status end
  if r.err:find("Exception in thread", 1, true) then return "an uncaught error in a thread" end
  if o.expect and not r.out:find(o.expect) then return "output does not match --expect" end
  return nil
end

function M.main(argv, exe)
  if argv[1] == "--help" or argv[1] == "-h" then
    print(USAGE)
    return true
  end
  local o, err = parse(argv)
  if not o then return usage_error(err) end
  local base = os.tmpname()
  local todo, done = threading.Queue(), threading.Queue()
  local workers = {}
  for w = 1, math.min(o.jobs, o.runs) do workers[w] = threading.Thread(worker, todo, done):start() end
  local horizon, started, finished = 0, 0, 0
  local results = {}
  local tty = os.execute("test -t 2")
  local t0 = threading.monotonic()
  local function start_next()
    if started == o.runs then return end
    local seed = o.seed + started
    started = started + 1
    local schedule = spec(o, seed, horizon)
    local tmp = ("%s.%d"):format(base, seed)
    todo:put{seed = seed, schedule = schedule, tmp = tmp, cmd = command(exe, o, schedule, tmp)}
  end
  for _ = 1, #workers do start_next() end
  while finished < o.runs do
    local r = done:get()
    finished = finished + 1
    if r.steps > horizon then horizon = r.steps end
    r.why = failure(o, r)
    results[#results + 1] = r
    start_next()
    if tty then
      io.stderr:write(("\r%d/%d runs, %d failed"):format(finished, o.runs,
        (function() local n = 0 for _, x in ipairs(results) do if x.why then n = n + 1 end end return n end)()))
    elseif finished % 100 == 0 or finished == o.runs then
      io.stderr:write(("%d/%d runs\n"):format(finished, o.runs))
    end
  end
  if tty then io.stderr:write("\n") end
  todo:shutdown()
  for _, w in ipairs(workers) do w:join() end
  os.remove(base)
  local elapsed = threading.monotonic() - t0
  table.sort(results, function(a, b) return a.seed < b.seed end)
  -- the outcomes: last line of stdout (and the failure, if any)
  local outcomes, order, failed, first = {}, {}, 0, nil
  for _, r in ipairs(results) do
    local key = last_line(r.out) .. (r.why and ("   [" .. r.why .. "]") or "")
    if not outcomes[key] then
      outcomes[key] = 0
      order[#order + 1] = key
    end
    outcomes[key] = outcomes[key] + 1
    if r.why then
      failed = failed + 1
      first = first or r
    end
  end
  table.sort(order, function(a, b) return outcomes[a] > outcomes[b] or (outcomes[a] == outcomes[b] and a < b) end)
  print(("%s: %d runs under %s schedules (seeds %d-%d), %.1f s (%.0f runs/s)"):format(o.script, o.runs,
    o.sched == "pct" and ("pct:" .. o.depth) or o.sched, o.seed, o.seed + o.runs - 1, elapsed, o.runs / elapsed))
  print(("%7s %7s  %s"):format("runs", "share", "outcome (last line of output)"))
  for _, key in ipairs(order) do
    print(("%7d %6.1f%%  %s"):format(outcomes[key], 100 * outcomes[key] / o.runs, key))
  end
  if failed == 0 then
    print("no run failed")
    return true
  end
  print(("%d of %d runs failed; the first, seed %d (%s):"):format(failed, o.runs, first.seed, first.why))
  local shown = first.err ~= "" and first.err or first.out
  io.write((shown:gsub("\n*$", "\n")))
  print("replay: " .. replay(o, first.schedule))
  return false
end

return M
