-- The experiment tools (docs/tools.md): the trace exporter
-- (lua/threading/trace.lua) on recorded events, under either host; then,
-- as child processes of $TLUA (under the tlua host only, as host_spec):
-- --trace, --trace-svg, --stats, --compare (CSV, JSON, -X, --sweep,
-- --show-output, argument checks) and the deadlock report.  The children
-- inherit this run's TLUA_GIL.
local helpers = require "helpers"
local trace = require "threading.trace"

local q = helpers.shell_quote
local TLUA = os.getenv("TLUA")
local describe_host = (TLUA and os.getenv("TLUA_HOST") ~= "lua5.4") and describe or pending

-- A strict JSON reader (RFC 8259): objects and arrays as tables, null as
-- JSON_NULL; raises an error naming the byte offset of what is wrong.
local JSON_NULL = setmetatable({}, {__name = "null"})
local function decode_json(text)
  local pos = 1
  local function fail(what) error(("invalid JSON at byte %d: %s"):format(pos, what), 0) end
  local function skip() pos = text:find("[^ \t\r\n]", pos) or #text + 1 end
  local function peek() return text:sub(pos, pos) end
  local value
  local function literal(word, v)
    if text:sub(pos, pos + #word - 1) ~= word then fail("expected " .. word) end
    pos = pos + #word
    return v
  end
  local ESCAPES = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"}
  local function string_value()
    pos = pos + 1
    local parts = {}
    while true do
      local c = peek()
      if c == "" then fail("unterminated string")
      elseif c == '"' then pos = pos + 1; return table.concat(parts)
      elseif c:byte() < 32 then fail("control character in a string")
      elseif c == "\\" then
        local e = text:sub(pos + 1, pos + 1)
        local hex = e == "u" and text:match("^%x%x%x%x", pos + 2)
        if ESCAPES[e] then parts[#parts + 1] = ESCAPES[e]; pos = pos + 2
        elseif hex then parts[#parts + 1] = utf8.char(tonumber(hex, 16)); pos = pos + 6
        else fail("bad escape") end
      else
        parts[#parts + 1] = c
        pos = pos + 1
      end
    end
  end
  local function number_value()
    local start = pos
    pos = text:match("^-?()", pos)
    pos = text:match("^0()", pos) or text:match("^[1-9]%d*()", pos) or fail("bad number")
    if peek() == "." then pos = text:match("^%.%d+()", pos) or fail("bad fraction") end
    if peek():match("[eE]") then pos = text:match("^[eE][-+]?%d+()", pos) or fail("bad exponent") end
    return tonumber(text:sub(start, pos - 1))
  end
  -- The items of an array or object up to `close`, each read by item().
  local function items(close, item)
    pos = pos + 1
    skip()
    if peek() == close then pos = pos + 1; return end
    while true do
      item()
      skip()
      local c = peek()
      pos = pos + 1
      if c == close then return end
      if c ~= "," then pos = pos - 1; fail("expected , or " .. close) end
    end
  end
  function value()
    skip()
    local c = peek()
    if c == "{" then
      local object = {}
      items("}", function()
        skip()
        if peek() ~= '"' then fail("expected a key") end
        local key = string_value()
        skip()
        if peek() ~= ":" then fail("expected :") end
        pos = pos + 1
        object[key] = value()
      end)
      return object
    elseif c == "[" then
      local array = {}
      items("]", function() array[#array + 1] = value() end)
      return array
    elseif c == '"' then return string_value()
    elseif c == "t" then return literal("true", true)
    elseif c == "f" then return literal("false", false)
    elseif c == "n" then return literal("null", JSON_NULL)
    elseif c:match("[-%d]") then return number_value()
    end
    fail("unexpected " .. (c == "" and "end" or c))
  end
  if not utf8.len(text) then fail("not UTF-8") end
  local v = value()
  skip()
  if pos <= #text then fail("text after the value") end
  return v
end

-- Checks a trace document against the Trace Event Format; returns the
-- thread names by tid.
local function check_trace_events(doc)
  assert.is_table(doc.traceEvents)
  local names = {}
  for i, e in ipairs(doc.traceEvents) do
    local where = "event " .. i
    assert.is_string(e.ph, where)
    assert.is_number(e.pid, where)
    assert.is_number(e.tid, where)
    assert.is_number(e.ts, where)
    assert.truthy(({M = true, X = true, i = true})[e.ph], where .. ": phase " .. e.ph)
    if e.ph == "X" then assert.is_true(type(e.dur) == "number" and e.dur >= 0, where .. ": dur") end
    if e.ph == "M" and e.name == "thread_name" then
      assert.is_nil(names[e.tid], "two names for tid " .. e.tid)
      names[e.tid] = e.args.name
    end
  end
  for i, e in ipairs(doc.traceEvents) do
    if e.ph ~= "M" then assert.is_string(names[e.tid], "event " .. i .. " is on a thread without a name") end
  end
  return names
end

-- s as a Lua pattern matching itself.
local function literally(s) return (s:gsub("%p", "%%%0")) end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

describe("the JSON checker of this spec", function()
  it("takes JSON and rejects what is not", function()
    assert.same({a = {1, -2.5e3, true, JSON_NULL}, b = "x\"\n\u{e9}"},
                decode_json('{"a": [1, -2.5e3, true, null], "b": "x\\"\\n\\u00e9"}'))
    for _, bad in ipairs{"{", "[1,]", "{'a':1}", "01", "1.", '"\1"', "[1] x", '{"a" 1}', "nul"} do
      assert.is_false(pcall(decode_json, bad), bad)
    end
  end)
end)

describe("the trace exporter", function()
  -- Thread 2 starts first although its id is higher; states as in src/kernel/kernel.h.
  local NAME, RUN, GIL_WAIT, BLOCKED, SLEEP, END = 1, 2, 3, 4, 5, 7
  local function events()
    return {
      {200, 1, NAME, "second"}, {200, 1, SLEEP}, {600, 1, BLOCKED, "Lock"}, {1000, 1, END},
      {100, 2, NAME, "first \255"}, {100, 2, RUN}, {300, 2, GIL_WAIT}, {400, 2, RUN}, {500, 2, END},
      dropped = 0,
    }
  end

  it("lists threads in creation order with their wall time and how it was spent", function()
    local spans = trace.spans(events())
    assert.equal(2, spans.threads[1].id)
    assert.equal(1, spans.threads[2].id)
    local rows = trace.summary(spans)
    assert.equal(400e-9, rows[1].wall_s)
    assert.same({0.75, 0.25, 0, 0}, {rows[1].lua, rows[1].gil_wait, rows[1].blocked, rows[1].sleep})
    assert.equal("second", rows[2].name)
    assert.same({0, 0, 0.5, 0.5}, {rows[2].lua, rows[2].gil_wait, rows[2].blocked, rows[2].sleep})
  end)

  it("writes valid Trace Event Format JSON, names made valid UTF-8", function()
    local path = os.tmpname()
    trace.write_json(path, trace.spans(events()))
    local doc = decode_json(read(path))
    os.remove(path)
    local names = check_trace_events(doc)
    assert.same({[1] = "second", [2] = "first \u{ff}"}, names)
    assert.equal(2, #doc.otherData.threads)
  end)

  it("reports a file it cannot write without a traceback", function()
    local err = helpers.error_of(trace.write_json, "/nonexistent-dir/trace.json", trace.spans(events()))
    helpers.assert_contains(err, "cannot write the trace: /nonexistent-dir/trace.json")
    assert.is_nil(err:find("traceback", 1, true))
  end)
end)

describe_host("the tlua tools", function()
  local dir
  local function path(name) return dir .. "/" .. name end
  -- Runs tlua in dir; env: assignments put before the command ("TLUA_GIL=1").
  local function tlua(args, env)
    return helpers.execute("cd " .. q(dir) .. " && " .. (env or "") .. " " .. q(TLUA) .. " " .. args)
  end

  setup(function()
    dir = helpers.temp_dir()
    -- Three workers made in order, each taking a lock once.
    write(path("workers.lua"), [[
local threading = require "threading"
local lock, threads = threading.Lock(), {}
for i = 1, 3 do
  threads[i] = threading.Thread{target = function() lock:with(function() end) end, name = "worker-" .. i}
  threads[i]:start()
end
for _, t in ipairs(threads) do t:join() end
]])
    -- What a --compare run was given, and a file to show it ran.
    write(path("child.lua"), [[
local threading = require "threading"
print(string.format("gil=%s interval=%g threads=%s", threading.gil_enabled(), threading.getswitchinterval(), arg[1]))
io.open("ran", "w"):close()
]])
    write(path("deadlock.lua"), [[
local threading = require "threading"
local a, b, b_taken = threading.Lock(), threading.Lock(), threading.Event()
a:acquire()
threading.Thread(function() b:acquire(); b_taken:set(); a:acquire() end):start()
b_taken:wait()
b:acquire()
]])
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  local THREADS = {"MainThread", "worker-1", "worker-2", "worker-3"}

  -- One traced run of workers.lua serves the tests of --trace, --trace-svg and --stats.
  local traced
  local function traced_run()
    if not traced then
      local _, err, code = tlua("--trace t.json --trace-svg t.svg --stats workers.lua")
      assert.equal(0, code, err)
      traced = {json = read(path("t.json")), svg = read(path("t.svg")), stats = err}
    end
    return traced
  end

  it("--trace writes Trace Event Format JSON with one named track per thread, in creation order", function()
    local doc = decode_json(traced_run().json)
    local names = check_trace_events(doc)
    local tid_of, count = {}, 0
    for tid, name in pairs(names) do tid_of[name] = tid; count = count + 1 end
    assert.equal(#THREADS, count)
    local order = {}
    for _, e in ipairs(doc.traceEvents) do
      if e.name == "thread_sort_index" then order[names[e.tid]] = e.args.sort_index end
    end
    for i, name in ipairs(THREADS) do
      assert.is_number(tid_of[name], name .. " has no track")
      assert.equal(i, order[name], name .. "'s place")
    end
    assert.equal(#THREADS, #doc.otherData.threads)
  end)

  it("--trace-svg draws one lane per thread, in creation order, and a summary row each", function()
    local svg = traced_run().svg
    assert.truthy(svg:match("^<svg ") and svg:match("</svg>\n$"), "not an SVG document")
    local lanes = {}
    for y in svg:gmatch('<rect x="[^"]*" y="(%d+)" width="[^"]*" height="%d+" fill="[^"]*"><title>') do
      lanes[y] = true
    end
    local lane_count = 0
    for _ in pairs(lanes) do lane_count = lane_count + 1 end
    assert.equal(#THREADS, lane_count)
    local last_y = -1
    for _, name in ipairs(THREADS) do
      local y = tonumber(svg:match('<text x="10" y="(%d+)">' .. literally(name) .. "</text>"))
      assert.is_true(y ~= nil and y > last_y, name .. "'s lane is out of order")
      last_y = y
      local _, labels = svg:gsub(">" .. literally(name) .. "</text>", "")
      assert.equal(2, labels, name .. ": a lane label and a summary row")
    end
  end)

  it("--stats prints a line per thread", function()
    local stats = traced_run().stats
    for _, name in ipairs(THREADS) do
      assert.truthy(("\n" .. stats):find("\n" .. literally(name) .. " +[%d.]+ "), name .. " missing from:\n" .. stats)
    end
  end)

  it("--compare --runs 1 --csv records every run", function()
    local out, err, code = tlua("--compare --runs 1 --threads 1,2 --csv runs.csv child.lua")
    assert.equal(0, code, err)
    helpers.assert_contains(out, "GIL")
    local lines = {}
    for line in read(path("runs.csv")):gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.equal("gil,threads,run,wall_s,cpu_s,status", lines[1])
    assert.equal(5, #lines)
    local seen = {}
    for i = 2, 5 do
      local gil, threads, run, wall, cpu, status = lines[i]:match("^([01]),([12]),(%d+),([%d.]+),([%d.]+),(%d+)$")
      assert.truthy(gil, "bad row: " .. lines[i])
      assert.same({"1", "0"}, {run, status})
      assert.is_true(tonumber(wall) > 0 and tonumber(cpu) >= 0)
      seen[gil .. "/" .. threads] = true
    end
    assert.same({["0/1"] = true, ["0/2"] = true, ["1/1"] = true, ["1/2"] = true}, seen)
  end)

  it("--compare passes -X options through, sweeps one, shows the output and writes JSON", function()
    local out, err, code = tlua("--compare --runs 1 -X gil=1 --sweep switchinterval=0.002,0.02 --show-output " ..
                                "--json runs.json child.lua")
    assert.equal(0, code, err)
    helpers.assert_contains(out, "gil=true interval=0.002 threads=nil")
    helpers.assert_contains(out, "gil=true interval=0.02 threads=nil")
    helpers.assert_contains(out, "switchinterval=0.02 takes ")
    local doc = decode_json(read(path("runs.json")))
    assert.equal(2, #doc.runs)
    for i, value in ipairs{"0.002", "0.02"} do
      assert.same({gil = "1", switchinterval = value}, doc.runs[i].options)
      assert.equal(0, doc.runs[i].status)
      assert.equal(JSON_NULL, doc.runs[i].threads)
    end
    assert.equal(2, #doc.summary)
  end)

  it("--compare checks its arguments before the first run", function()
    for _, case in ipairs{
      {"--svg /nonexistent-dir/chart.svg", "--svg: cannot write /nonexistent-dir/chart.svg"},
      {"--csv /nonexistent-dir/runs.csv", "--csv: cannot write"},
      {"--sweep gil=0,7", "invalid -X option 'gil=7'"},
      {"--threads 1,,2", "--threads needs a list"},
      {"--bogus", "unknown option --bogus"},
    } do
      os.remove(path("ran"))
      local _, err, code = tlua("--compare --runs 1 " .. case[1] .. " child.lua")
      assert.equal(1, code, case[1])
      helpers.assert_contains(err, case[2])
      assert.is_nil(err:find("traceback", 1, true), err)
      assert.is_nil(io.open(path("ran")), case[1] .. ": the script ran")
    end
  end)

  it("reports a deadlock of all threads and exits with status 3", function()
    local _, err, code = tlua("-X deadlock=on deadlock.lua")
    assert.equal(3, code, err)
    helpers.assert_contains(err, "deadlock: all threads are blocked")
  end)

  it("-v names tlua's version, Lua's and the GIL the run will have", function()
    local version = "tlua " .. require("threading")._VERSION .. " %(Lua 5%.4%.%d+%), GIL "
    for _, case in ipairs{{"-X gil=0 -v", "off"}, {"-v -X gil=1", "on"}, {"-X gil=legacy -v", "legacy"}} do
      local out, err, code = tlua(case[1])
      assert.equal(0, code, err)
      assert.truthy(out:match("^" .. version .. case[2] .. "\nLua 5%.4%.%d+  Copyright .-PUC%-Rio\n$"), out)
    end
    assert.truthy((tlua("-v", "TLUA_GIL=legacy")):match("^" .. version .. "legacy\n"))
  end)

  it("--help lists tlua's own options on stdout", function()
    local out, err, code = tlua("--help")
    assert.equal(0, code, err)
    for _, option in ipairs{"-X gil=0|1|legacy", "-X switchinterval=S", "-X deadlock=on|off", "--trace FILE.json",
                            "--trace-svg FILE.svg", "--stats", "--compare", "TLUA_GIL", "-e stat"} do
      helpers.assert_contains(out, option)
    end
  end)

  it("rejects a bad TLUA_GIL, TLUA_DEADLOCK or TLUA_SCHED before the script runs, naming it", function()
    for _, case in ipairs{{"TLUA_GIL=on", "invalid TLUA_GIL 'on' (expected 0, 1 or legacy)"},
                          {"TLUA_GIL=2", "invalid TLUA_GIL '2'"},
                          {"TLUA_DEADLOCK=maybe", "invalid TLUA_DEADLOCK 'maybe' (expected 0, 1, on or off)"},
                          {"TLUA_SCHED=bogus", "invalid TLUA_SCHED 'bogus'"}} do
      os.remove(path("ran"))
      local out, err, code = tlua("child.lua", case[1])
      assert.equal(1, code, case[1])
      assert.equal("", out, case[1])
      helpers.assert_contains(err, case[2])
      assert.is_nil(err:find("traceback", 1, true), err)
      assert.is_nil(io.open(path("ran")), case[1] .. ": the script ran")
    end
    for _, env in ipairs{"TLUA_DEADLOCK=off", "TLUA_DEADLOCK=on", "TLUA_DEADLOCK=1", "TLUA_GIL=legacy",
                         "TLUA_SCHED=random:42"} do
      local _, err, code = tlua("child.lua", env)
      assert.equal(0, code, env .. ": " .. err)
    end
  end)

  it("-E ignores TLUA_* as it ignores LUA_INIT", function()
    local script = "-e 'print(require(\"threading\").gil_enabled())'"
    assert.equal("true\n", (tlua(script, "TLUA_GIL=1")))
    local out, err, code = tlua("-E " .. script, "TLUA_GIL=1 TLUA_DEADLOCK=garbage")
    assert.equal(0, code, err)
    assert.equal("false\n", out)
    local _, derr, dcode = tlua("-E deadlock.lua", "TLUA_DEADLOCK=0")
    assert.equal(3, dcode, derr) -- the report is on: TLUA_DEADLOCK=0 was ignored
  end)
end)
