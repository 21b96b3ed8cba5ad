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
    assert.truthy(({M = true, X = true, i = true, C = true})[e.ph], where .. ": phase " .. e.ph)
    if e.ph == "X" then assert.is_true(type(e.dur) == "number" and e.dur >= 0, where .. ": dur") end
    if e.ph == "C" then assert.is_number(e.args.value, where .. ": a counter's value") end
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

  it("exports the user's marks, spans (nested, or open at the end) and counters", function()
    local MARK, SPAN_BEGIN, SPAN_END, COUNTER = 8, 9, 10, 11
    local evs = events()
    for _, e in ipairs{{150, 2, MARK, "here"}, {160, 2, SPAN_BEGIN, "outer"}, {170, 2, SPAN_BEGIN, "inner"},
                       {180, 2, SPAN_END, "inner"}, {250, 1, COUNTER, "n", 3}, {260, 1, COUNTER, "n", 1.5},
                       {300, 1, SPAN_BEGIN, "never ended"}} do
      evs[#evs + 1] = e
    end
    local spans = trace.spans(evs)
    local rows = trace.summary(spans) -- the user's events change no state
    assert.same({0.75, 0.25, 0, 0}, {rows[1].lua, rows[1].gil_wait, rows[1].blocked, rows[1].sleep})
    local path = os.tmpname()
    trace.write_json(path, spans)
    local doc = decode_json(read(path))
    os.remove(path)
    check_trace_events(doc)
    local user = {}
    for _, e in ipairs(doc.traceEvents) do
      if e.cat == "user" or e.ph == "C" then user[#user + 1] = e end
    end
    table.sort(user, function(a, b) return a.ts < b.ts or (a.ts == b.ts and a.name < b.name) end)
    local got = {}
    for _, e in ipairs(user) do got[#got + 1] = {e.ph, e.name, e.tid, e.ts * 1000, e.dur and e.dur * 1000, e.args and e.args.value} end
    assert.same({{"i", "here", 2, 50}, {"X", "outer", 2, 60, 340}, {"X", "inner", 2, 70, 10},
                 {"C", "n", 1, 150, nil, 3}, {"C", "n", 1, 160, nil, 1.5}, {"X", "never ended", 1, 200, 700}}, got)
    path = os.tmpname()
    trace.write_svg(path, spans)
    local svg = read(path)
    os.remove(path)
    helpers.assert_contains(svg, "<title>here at ")
    helpers.assert_contains(svg, "<title>outer 0.000 ms</title>")
    helpers.assert_contains(svg, '<text x="10" y="')
    assert.truthy(svg:find(">n</text>", 1, true), "no lane for the counter")
  end)

  it("mark, span and counter cost a call and do nothing when the run is not traced", function()
    local threading = require "threading"
    assert.equal(trace, threading.trace)
    assert.is_false(threading._trace_on())
    trace.mark("m")
    trace.counter("c", 1)
    assert.same({5, "x"}, {trace.span("s", function(a, b) return a + b, "x" end, 2, 3)})
    assert.equal(0, #threading._trace_events())
  end)

  it("reports a file it cannot write without a traceback", function()
    local err = helpers.error_of(trace.write_json, "/nonexistent-dir/trace.json", trace.spans(events()))
    helpers.assert_contains(err, "cannot write the trace: /nonexistent-dir/trace.json")
    assert.is_nil(err:find("traceback", 1, true))
  end)
end)

-- A temporary directory for the tests of a describe block (made in its
-- setup, removed in its teardown), and tlua run in it; env: assignments
-- put before the command ("TLUA_GIL=1").  Returns path(name), tlua(args
-- [, env]) and the directory (a function: it exists only once set up).
local function workspace()
  local dir
  setup(function() dir = helpers.temp_dir() end)
  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)
  local function path(name) return dir .. "/" .. name end
  local function tlua(args, env)
    return helpers.execute("cd " .. q(dir) .. " && " .. (env or "") .. " " .. q(TLUA) .. " " .. args)
  end
  return path, tlua, function() return dir end
end

describe_host("the tlua tools", function()
  local path, tlua = workspace()

  setup(function()
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

  it("--trace records the user's marks, spans and counters, and queue sizes, in the JSON and the SVG", function()
    write(path("user.lua"), [[
local threading = require "threading"
local trace = threading.trace
local q = threading.Queue{name = "jobs"}
local consumer = threading.Thread{name = "consumer", target = function()
  for item in q:items() do trace.span("job " .. item, function() end) end
end}
consumer:start()
trace.mark("producing")
for i = 1, 3 do q:put(i); trace.counter("produced", i) end
local a, b = trace.span("sum", function(x, y) return x + y, "two" end, 2, 3)
assert(a == 5 and b == "two")
assert(not pcall(trace.span, "failing", error, "oops"))
q:shutdown()
consumer:join()
]])
    local _, err, code = tlua("--trace u.json --trace-svg u.svg user.lua")
    assert.equal(0, code, err)
    local doc = decode_json(read(path("u.json")))
    local names = check_trace_events(doc)
    local seen, sizes = {}, {}
    for _, e in ipairs(doc.traceEvents) do
      if e.cat == "user" then seen[e.ph .. " " .. e.name .. " " .. names[e.tid]] = true end
      if e.ph == "C" and e.name == 'Queue "jobs": size' then sizes[#sizes + 1] = e.args.value end
      if e.ph == "C" and e.name == "produced" then seen["C produced " .. e.args.value] = true end
    end
    for _, key in ipairs{"i producing MainThread", "X sum MainThread", "X failing MainThread", "X job 1 consumer",
                         "X job 2 consumer", "X job 3 consumer", "C produced 1", "C produced 3"} do
      assert.truthy(seen[key], key)
    end
    assert.equal(6, #sizes) -- three puts, three gets
    for _, v in ipairs(sizes) do assert.is_true(v >= 0 and v <= 3) end
    assert.equal(0, sizes[#sizes])
    local svg = read(path("u.svg"))
    helpers.assert_contains(svg, "<title>producing at ")
    helpers.assert_contains(svg, "<title>job 2 ")
    helpers.assert_contains(svg, ">Queue &quot;jobs&quot;: size</text>")
  end)

  it("--stats gives each thread's wall time and its shares, in start order, without --trace", function()
    write(path("shares.lua"), [[
local threading = require "threading"
local go = threading.Event()
local t = threading.Thread{name = "waiter", target = function()
  go:wait()
  local n = 0
  for i = 1, 200000 do n = n + i end
end}
t:start()
threading.sleep(0.3)
go:set()
t:join()
]])
    local _, err, code = tlua("--stats shares.lua")
    assert.equal(0, code, err)
    local header = err:match("\n(thread +wall s +Lua +GIL wait +blocked +sleeping +CPU s +GIL taken +forced)\n")
    assert.truthy(header, err)
    local rows = {}
    for name, wall, lua, gil, blocked, sleeping in err:gmatch("\n(%S+) +([%d.]+) +([%d.]+)%% +([%d.]+)%% +([%d.]+)%% +([%d.]+)%%") do
      local row = {name = name, wall = tonumber(wall), lua = tonumber(lua), gil = tonumber(gil),
                   blocked = tonumber(blocked), sleeping = tonumber(sleeping)}
      assert.is_true(math.abs(row.lua + row.gil + row.blocked + row.sleeping - 100) < 0.5, name .. ": shares do not add up")
      rows[#rows + 1] = row
    end
    assert.same({"MainThread", "waiter"}, {rows[1] and rows[1].name, rows[2] and rows[2].name})
    local main, waiter = rows[1], rows[2]
    assert.is_true(main.wall >= 0.3, "main's wall time")
    assert.is_true(main.sleeping / 100 * main.wall >= 0.29, "main slept 0.3 s: " .. err)
    assert.is_true(waiter.blocked / 100 * waiter.wall >= 0.29, "the waiter was blocked 0.3 s: " .. err)
    assert.is_true(waiter.lua > 0, "the waiter ran Lua: " .. err)
    assert.is_nil(err:find("virtual time", 1, true), "real time is not called virtual")
  end)

  it("--stats counts a dofile'd chunk's run as running Lua, not as blocked", function()
    write(path("busy.lua"), "local n = 0 for i = 1, 2e7 do n = n + i end\n")
    write(path("dofile.lua"), "dofile('busy.lua')\n")
    local _, err, code = tlua("-X gil=0 --stats dofile.lua")
    assert.equal(0, code, err)
    local lua = tonumber(err:match("\nMainThread +[%d.]+ +([%d.]+)%%"))
    assert.truthy(lua and lua > 50, err)
  end)

  it("--stats under -X sched says its times are virtual and the GIL counts nothing", function()
    write(path("virtual.lua"), [[
local threading = require "threading"
local t = threading.Thread(function() threading.sleep(60) end)
t:start()
t:join()
]])
    local _, err, code = tlua("-X sched=rr --stats virtual.lua")
    assert.equal(0, code, err)
    local wall = tonumber(err:match("\nThread%-1 +([%d.]+) "))
    assert.truthy(wall and wall >= 60, err) -- 60 s of virtual sleep
    helpers.assert_contains(err, "are the scheduler's virtual time")
    helpers.assert_contains(err, "The GIL figures below count nothing")
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

  it("the REPL's banner says the same (on a terminal, through script(1) when it is installed)", function()
    if not os.execute("command -v script >/dev/null 2>&1") then return pending("no script(1)") end
    local out = helpers.execute("printf 'os.exit()\\n' | script -qec " .. q(q(TLUA) .. " -X gil=1") .. " /dev/null")
    assert.truthy(out:find("tlua " .. require("threading")._VERSION .. " (Lua 5.4.", 1, true), out)
    assert.truthy(out:find("%), GIL on\r?\nLua 5%.4%.%d+  Copyright"), out)
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

describe_host("every end of a run writes what the tools were asked for", function()
  local path, tlua, dir = workspace()

  -- Starts tlua in the background; its stdout and, at the end, a line
  -- "status N" come through a pipe.  Returns {pid, line(), status()}.
  local function background(args)
    local p = assert(io.popen("cd " .. q(dir()) .. " && (" .. q(TLUA) .. " " .. args ..
                              " 2>stderr & echo $!; wait $!; echo \"status $?\") 2>/dev/null"))
    local child = {pid = assert(tonumber(p:read("l")))}
    function child.line() return p:read("l") end
    function child.signal(name) assert(os.execute("kill -" .. name .. " " .. child.pid)) end
    function child.status()
      local line
      repeat line = p:read("l") until line == nil or line:match("^status ")
      p:close()
      return tonumber(line and line:match("%d+")), read(path("stderr"))
    end
    return child
  end

  -- The thread names of a trace, and its blocked spans by thread name.
  local function trace_of(file)
    local doc = decode_json(read(path(file)))
    local names = check_trace_events(doc)
    local blocked = {}
    for _, e in ipairs(doc.traceEvents) do
      if e.ph == "X" and e.cat == "blocked" then
        blocked[names[e.tid]] = blocked[names[e.tid]] or {}
        table.insert(blocked[names[e.tid]], e)
      end
    end
    local set = {}
    for _, name in pairs(names) do set[name] = true end
    return set, blocked, doc
  end

  setup(function()
    -- A worker runs, then the script ends as arg[1] says.
    write(path("ends.lua"), [[
local threading = require "threading"
threading.Thread{name = "worker", target = function() threading.sleep(0.01) end}:start():join()
local how = arg[1]
if how == "exit" then os.exit(0)
elseif how == "exit-close" then os.exit(4, true)
elseif how == "thread-exit" then threading.Thread{name = "quitter", target = function() os.exit(6) end}:start():join()
elseif how == "error" then error("the script failed")
end
io.open("ran", "w"):close()
]])
    -- A thread that never ends, joined by the main thread; "ready" once it
    -- runs.  (It reads the clock: under ThreadSanitizer a signal that lands
    -- in a thread is handled at its next call into the C library, and a
    -- thread's state allocates from an arena of its own.)
    write(path("forever.lua"), [[
local threading = require "threading"
local t = threading.Thread{name = "spinner", target = function()
  local monotonic = threading.monotonic
  while true do monotonic() end
end}
t:start()
io.write("ready\n")
io.stdout:flush()
t:join()
]])
    write(path("deadlock.lua"), [[
local threading = require "threading"
local a, b, b_taken = threading.Lock(), threading.Lock(), threading.Event()
a:acquire()
threading.Thread{name = "other", target = function() b:acquire(); b_taken:set(); a:acquire() end}:start()
b_taken:wait()
b:acquire()
]])
  end)

  local function clean()
    for _, f in ipairs{"t.json", "t.svg", "cpu", "ran"} do os.remove(path(f)) end
  end

  -- The trace, the SVG and the stats of a run that ended; the names of its threads.
  local function check_outputs(err, threads)
    local names = trace_of("t.json")
    for _, name in ipairs(threads) do
      assert.truthy(names[name], name .. " has no track")
      assert.truthy(("\n" .. err):find("\n" .. literally(name) .. " +[%d.]+ "), name .. " missing from the stats:\n" .. err)
    end
    assert.truthy(read(path("t.svg")):match("</svg>\n$"))
    assert.truthy(tonumber(read(path("cpu"))), "--rusage")
  end

  local ALL = "--trace t.json --trace-svg t.svg --stats --rusage cpu"

  for _, case in ipairs{
    {"", 0, {"MainThread", "worker"}},
    {"exit", 0, {"MainThread", "worker"}},
    {"exit-close", 4, {"MainThread", "worker"}},
    {"thread-exit", 6, {"MainThread", "worker", "quitter"}},
    {"error", 1, {"MainThread", "worker"}},
  } do
    it("on " .. (case[1] == "" and "a normal end" or case[1]) .. " (status " .. case[2] .. ")", function()
      clean()
      local _, err, code = tlua(ALL .. " ends.lua " .. case[1])
      assert.equal(case[2], code, err)
      check_outputs(err, case[3])
    end)
  end

  it("on a deadlock report (status 3): the trace shows both threads blocked on a Lock to the end", function()
    clean()
    local _, err, code = tlua(ALL .. " deadlock.lua")
    assert.equal(3, code, err)
    helpers.assert_contains(err, "deadlock: all threads are blocked")
    check_outputs(err, {"MainThread", "other"})
    local _, blocked, doc = trace_of("t.json")
    local last = 0
    for _, e in ipairs(doc.traceEvents) do if e.ph == "X" then last = math.max(last, e.ts + e.dur) end end
    for _, name in ipairs{"MainThread", "other"} do
      local spans = assert(blocked[name], name .. " is never blocked")
      local final = spans[#spans]
      assert.equal("Lock", final.name)
      assert.is_true(final.dur >= 0.5e6, name .. " blocked only " .. final.dur .. " us")
      assert.is_true(math.abs(final.ts + final.dur - last) < 1, name .. "'s block does not last to the end")
    end
  end)

  -- forever.lua in the background, once it runs.
  local function forever()
    clean()
    local child = background(ALL .. " forever.lua")
    assert.equal("ready", child.line())
    return child
  end

  it("on SIGTERM (status 143)", function()
    local child = forever()
    child.signal("TERM")
    local code, err = child.status()
    assert.equal(143, code, err)
    check_outputs(err, {"MainThread", "spinner"})
  end)

  it("on a second SIGINT (status 130), the first one having interrupted the main thread", function()
    local child = forever()
    child.signal("INT")
    -- The first interrupts the join: the error is reported, then tlua
    -- waits for the spinner; stderr says when that has happened.
    local deadline = os.time() + 60
    while not read(path("stderr")):find("interrupted!", 1, true) do
      assert(os.time() < deadline, "the first SIGINT did not interrupt the main thread")
      os.execute("sleep 0.05") -- bounded polling of the child's stderr
    end
    child.signal("INT")
    local code, err = child.status()
    assert.equal(130, code, err)
    check_outputs(err, {"MainThread", "spinner"})
  end)

  it("fails before the script runs when an output cannot be written", function()
    for _, case in ipairs{
      {"--trace /nonexistent-dir/t.json", "cannot write the trace: /nonexistent-dir/t.json: No such file or directory"},
      {"--trace-svg /nonexistent-dir/t.svg", "cannot write the trace: /nonexistent-dir/t.svg"},
      {"--rusage /nonexistent-dir/cpu", "cannot write the CPU time: /nonexistent-dir/cpu"},
      {"--trace .", "cannot write the trace: .: Is a directory"},
    } do
      clean()
      local out, err, code = tlua(case[1] .. " ends.lua")
      assert.equal(1, code, case[1])
      assert.equal("", out)
      helpers.assert_contains(err, case[2])
      assert.is_nil(err:find("traceback", 1, true), err)
      assert.is_nil(io.open(path("ran")), case[1] .. ": the script ran")
    end
  end)

  it("checks the paths without touching an existing file or leaving a new one behind", function()
    clean()
    local _, err, code = tlua("--trace t.json --trace-svg /nonexistent-dir/t.svg ends.lua")
    assert.equal(1, code, err)
    assert.is_nil(io.open(path("t.json")), "the check left t.json behind")
    write(path("t.json"), "old")
    _, err, code = tlua("--trace t.json --trace-svg /nonexistent-dir/t.svg ends.lua")
    assert.equal(1, code, err)
    assert.equal("old", read(path("t.json")))
  end)
end)

describe("the hint about the main thread's globals", function()
  it("is appended to 'a nil value (global X)' errors in a thread when X is a main thread's global", function()
    -- (in a child: busted's spec files have globals of their own, not _G's)
    local out, ok = helpers.run_child([[
local threading = require "threading"
config = {size = 3}
function helper() return 1 end
threading.excepthook = function() end -- (the errors are printed below)
local function error_of(f)
  local t = threading.Thread(f):start()
  t:join()
  print((select(2, pcall(t.result, t)):match("^[^\n]*")))
end
error_of(function() return config.size end)
error_of(function() return helper() end)
error_of(function() return never_set.x end)
local ex <close> = threading.ThreadPoolExecutor(1)
local future = ex:submit(function() return config.size end)
print((select(2, pcall(future.result, future)):match("^[^\n]*")))
print((select(2, pcall(function() return never_set.x end))))
]])
    assert(ok, out)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line:gsub("^[^:]*:%d+: ", "") end
    local function hint(name)
      return " (" .. name .. " is a global of the main thread; each thread has its own globals: " ..
             "pass it as an argument or use threading.shared)"
    end
    assert.same({
      "attempt to index a nil value (global 'config')" .. hint("config"),
      "attempt to call a nil value (global 'helper')" .. hint("helper"),
      "attempt to index a nil value (global 'never_set')",
      "attempt to index a nil value (global 'config')" .. hint("config"), -- an executor's task
      "attempt to index a nil value (global 'never_set')", -- the main thread: no hint
    }, lines)
  end)
end)

describe_host("deadlock reports and SIGQUIT dumps", function()
  local path, tlua, dir = workspace()

  -- The report of script (a deadlock): exit status 3; its lines.
  local function report(name, script)
    write(path(name), script)
    local _, err, code = tlua(name)
    assert.equal(3, code, err)
    local lines = {}
    for line in err:gmatch("[^\n]*") do lines[#lines + 1] = line end
    assert.equal("deadlock: all threads are blocked", lines[1])
    return lines, err
  end

  it("opens with the cycle, naming locks by their name or where they were made", function()
    local lines, err = report("bank.lua", [[
local threading = require "threading"
local accounts = threading.Lock{name = "accounts"}
local audit = threading.Lock()
local audit_taken = threading.Event()
accounts:acquire()
threading.Thread{name = "auditor", target = function()
  audit:acquire()
  audit_taken:set()
  accounts:acquire()
end}:start()
audit_taken:wait()
audit:acquire()
]])
    assert.equal('MainThread holds Lock "accounts" and waits for Lock created at bank.lua:3 held by auditor, ' ..
                 'which waits for Lock "accounts" held by MainThread', lines[2])
    helpers.assert_contains(err, "thread auditor:\n  waits for Lock \"accounts\", held by MainThread\n" ..
                                 "  holds Lock created at bank.lua:3\n  stack traceback:\n")
  end)

  it("counts a join as a wait for the joined thread", function()
    local lines = report("join.lua", [[
local threading = require "threading"
local lock = threading.RLock()
lock:acquire()
local worker = threading.Thread{name = "worker", target = function() lock:acquire() end}
worker:start()
worker:join()
]])
    assert.equal("MainThread holds RLock created at join.lua:2 and waits for worker to end, which waits for " ..
                 "RLock created at join.lua:2 held by MainThread", lines[2])
  end)

  it("says when a holder has exited, and names other kinds", function()
    local lines, err = report("exited.lua", [[
local threading = require "threading"
local lock = threading.Lock()
local jobs = threading.Queue{name = "jobs"}
threading.Thread{name = "leaver", target = function() lock:acquire() end}:start():join()
threading.Thread{name = "consumer", target = function() jobs:get() end}:start()
lock:acquire()
]])
    assert.equal("no thread can wake another: MainThread waits for Lock created at exited.lua:2, held by leaver " ..
                 "(exited); consumer waits for Queue \"jobs\" (Queue.get)", lines[2])
    helpers.assert_contains(err, "waits for Lock created at exited.lua:2, held by leaver (exited)\n")
  end)

  -- Sends SIGQUIT to pid until a dump in the file 'errfile' (the child's
  -- stderr) satisfies accept(dump); a dump is whole once the thread listed
  -- last ('last', a pattern) appears in it.  Bounded: 1,000 dumps, 60 s.
  -- Returns accept's result (nil if none did) and the whole stderr.
  local function quit_until(pid, errfile, last, accept)
    local err
    local deadline = os.time() + 60
    for k = 1, 1000 do
      assert(os.execute("kill -QUIT " .. pid))
      repeat
        err = read(path(errfile))
        local _, dumps = err:gsub(last, "")
        if dumps < k then
          assert(os.time() < deadline, "no dump:\n" .. err)
          os.execute("sleep 0.05")
        end
      until dumps >= k
      local found = accept(err:match(".*(SIGQUIT: every thread.*)$"))
      if found then return found, err end
    end
    return nil, err
  end

  it("SIGQUIT prints every thread (the stack of those parked in a wait) and the process goes on", function()
    assert(os.execute("mkfifo " .. q(path("go"))))
    write(path("quit.lua"), [[
local threading = require "threading"
local accounts = threading.Lock{name = "accounts"}
local go = threading.Event{name = "go"}
accounts:acquire()
threading.Thread{name = "spinner", daemon = true, target = function()
  local monotonic = threading.monotonic -- (a C library call: see forever.lua's note)
  while true do monotonic() end
end}:start()
local waiter = threading.Thread{name = "waiter", target = function() accounts:acquire(); accounts:release() end}
waiter:start()
threading.Thread{name = "waker", target = function(fifo)
  local f = assert(io.open(fifo))
  f:read("l")
  go:set()
end, args = {arg[1]}}:start()
io.write("ready\n")
io.stdout:flush()
go:wait()
accounts:release()
waiter:join()
print("main goes on")
]])
    local p = assert(io.popen("cd " .. q(dir()) .. " && (" .. q(TLUA) .. " quit.lua go 2>stderr & echo $!; " ..
                              "wait $!; echo \"status $?\") 2>/dev/null"))
    local pid = assert(tonumber(p:read("l")))
    assert.equal("ready", p:read("l"))
    -- Dumps until one shows the main thread parked on the Event (right
    -- after "ready" it may still be running, or waiting for the GIL).
    local main_parked = "thread MainThread (main):\n  waits for Event \"go\"\n  holds Lock \"accounts\"\n" ..
                        "  stack traceback:\n\t[C]: in method 'wait'\n\tquit.lua:18: in main chunk\n"
    local dump, err = quit_until(pid, "stderr", "\nthread waker:", function(d)
      return d:find(main_parked, 1, true) and d
    end)
    dump = dump or err:match(".*(SIGQUIT: every thread.*)$")
    local f = assert(io.open(path("go"), "w")) -- the waker goes on, so does main
    f:write("go\n")
    f:close()
    assert.equal("main goes on", p:read("l"))
    assert.equal("status 0", p:read("l"))
    p:close()
    helpers.assert_contains(dump, "SIGQUIT: every thread, now (the process goes on)")
    helpers.assert_contains(dump, main_parked)
    helpers.assert_contains(dump, "thread spinner:\n  running (its stack cannot be read while it runs)\n")
    -- the waiter is parked on the lock, or (just started) still running
    assert.truthy(dump:find("thread waiter:\n  waits for Lock \"accounts\", held by MainThread\n  stack traceback:\n" ..
                           "\t[C]: in method 'acquire'\n", 1, true) or dump:find("thread waiter:\n  running", 1, true), dump)
  end)

  it("SIGQUIT under -X sched shows a thread that waits for its turn, with its stack", function()
    write(path("turns.lua"), [[
local threading = require "threading"
local lock = threading.Lock{name = "shared"}
local function spin()
  while true do lock:acquire(); lock:release() end
end
threading.Thread{name = "spin-1", daemon = true, target = spin}:start()
threading.Thread{name = "spin-2", daemon = true, target = spin}:start()
io.write("ready\n")
io.stdout:flush()
threading.sleep(1e6)
]])
    local p = assert(io.popen("cd " .. q(dir()) .. " && (" .. q(TLUA) .. " -X sched=rr turns.lua 2>turns.err & " ..
                              "echo $!; wait $!) 2>/dev/null"))
    local pid = assert(tonumber(p:read("l")))
    assert.equal("ready", p:read("l"))
    -- One spinner has the baton, the other waits for its turn (or, caught
    -- between the two, both are in transit); the main thread sleeps, or is
    -- at a schedule point before it (right after "ready" it may still
    -- run, with the baton): dumps until one shows both.
    local turn = "  waits for its turn (-X sched runs one thread at a time)\n"
    local waiting = "\nthread spin%-%d:\n" .. turn:gsub("[%(%)%-]", "%%%0") ..
                    "[^\n]*\n?[^\n]*stack traceback:\n\t%[C%]: in method '[a-z]+'\n"
    local function main_parked(d)
      return d:find("thread MainThread (main):\n  sleeps\n  stack traceback:\n", 1, true) or
             d:find("thread MainThread (main):\n" .. turn .. "  stack traceback:\n", 1, true)
    end
    local found, err = quit_until(pid, "turns.err", "\nthread spin%-2:", function(d)
      return d:match(waiting) and main_parked(d) and d
    end)
    os.execute("kill -KILL " .. pid)
    p:close()
    assert.truthy(found, err)
  end)
end)
