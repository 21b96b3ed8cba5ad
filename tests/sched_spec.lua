-- Deterministic schedules: threading.check in this process, and -X sched /
-- TLUA_SCHED in child processes: the same seed gives the same run, time
-- is virtual, math.random is seeded, correct programs pass many runs, and
-- the classic bugs are found and replayed.
local threading = require "threading"
local helpers = require "helpers"
local shell_quote = helpers.shell_quote

local tlua_host = os.getenv("TLUA_HOST") ~= "lua5.4"

-- Runs a script in a child under the schedule (TLUA_SCHED works in both
-- hosts); returns its output (stdout + stderr) and exit status.
local function run_scheduled(spec, script, extra, gil)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(script)
  f:close()
  -- (bounded: a hang of the scheduler fails the spec with status 124)
  local cmd = ("TLUA_GIL=%s TLUA_SCHED=%s LUA_CPATH=%s timeout 30 %s %s %s 2>&1; echo \"status $?\""):format(gil or "0", shell_quote(spec),
    shell_quote(package.cpath), shell_quote(helpers.interpreter()), extra or "", shell_quote(path))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  os.remove(path)
  local status = tonumber(out:match("status (%d+)\n$"))
  return out:gsub("status %d+\n$", ""), status
end

-- Two threads add 1 to a shared counter 3 times each, without a lock.
local function lost_update()
  local c = threading.shared{n = 0}
  local function add(s) for _ = 1, 3 do s.n = s.n + 1 end end
  local a, b = threading.Thread(add, c):start(), threading.Thread(add, c):start()
  a:join()
  b:join()
  assert(c.n == 6, "lost updates: n = " .. c.n)
end

local race_script = [[
  local threading = require "threading"
  local c = threading.shared{n = 0}
  local log = threading.Queue()
  local function add(s, log, who)
    for i = 1, 4 do s.n = s.n + 1 log:put(who .. i) end
  end
  local ts = {}
  for k = 1, 3 do ts[k] = threading.Thread(add, c, log, string.char(96 + k)):start() end
  for k = 1, 3 do ts[k]:join() end
  local order = {}
  while not log:empty() do order[#order + 1] = log:get() end
  print(table.concat(order, " "), c.n, threading.monotonic(), math.random(1000000), threading.schedule())
]]

describe("a deterministic schedule", function()
  it("gives the same run for the same seed, whatever the GIL", function()
    local outputs = {}
    for _, gil in ipairs{"0", "1"} do
      for _ = 1, 2 do
        local out, status = run_scheduled("random:7", race_script, nil, gil)
        assert.equal(0, status, out)
        outputs[#outputs + 1] = out
      end
    end
    for i = 2, #outputs do assert.equal(outputs[1], outputs[i]) end
    assert.matches("random:7", outputs[1])
    local other = run_scheduled("random:8", race_script)
    assert.matches("random:8", other)
  end)

  it("gives the same trace for the same seed, byte for byte", function()
    if not tlua_host then return pending("--trace is an option of tlua") end
    local traces = {}
    for i = 1, 2 do
      local path = os.tmpname()
      local out, status = run_scheduled("pct:3", race_script, "--trace " .. path)
      assert.equal(0, status, out)
      local f = assert(io.open(path, "rb"))
      -- (the queue's size counter is named after where it was made: the script's temporary name)
      traces[i] = f:read("a"):gsub("/tmp/lua_%w+", "SCRIPT")
      f:close()
      os.remove(path)
    end
    assert.is_true(#traces[1] > 1000)
    assert.equal(traces[1], traces[2])
  end)

  it("runs on a virtual clock: sleeping 60 s takes no time", function()
    local t0 = os.time()
    local out, status = run_scheduled("pct:1", [[
      local threading = require "threading"
      local t0 = threading.monotonic()
      local ts = {}
      for i = 1, 3 do ts[i] = threading.Thread(threading.sleep, 20):start() end
      local e = threading.Event()
      print("waited", e:wait(10), threading.monotonic() - t0 >= 10)
      for i = 1, 3 do ts[i]:join() end
      threading.sleep(20)
      print("slept", math.floor(threading.monotonic() - t0 + 0.5))
    ]])
    assert.equal(0, status, out)
    assert.matches("waited%s+false%s+true", out)
    assert.matches("slept%s+40", out)
    assert.is_true(os.time() - t0 <= 2, "took " .. os.time() - t0 .. " s")
  end)

  it("seeds math.random in every thread from the schedule", function()
    local script = [[
      local threading = require "threading"
      local t = threading.Thread(function() return math.random(1 << 30) end):start()
      t:join()
      print(math.random(1 << 30), t:result())
    ]]
    local a = run_scheduled("random:11", script)
    assert.equal(a, (run_scheduled("random:11", script)))
    assert.not_equal(a, (run_scheduled("random:12", script)))
  end)

  it("wakes a thread whose sleep is over while another one spins", function()
    -- (the expired deadline made READY at every choice, not only when no one is)
    for _, spec in ipairs{"random:1", "pct:2", "rr"} do
      local out, status = run_scheduled(spec, [[
        local threading = require "threading"
        local flag = threading.shared{done = false}
        local t = threading.Thread(function(flag) threading.sleep(0.001) flag.done = true end, flag):start()
        while not flag.done do end
        t:join()
        print("woke")
      ]])
      assert.equal(0, status, spec .. ": " .. out)
      assert.matches("woke", out)
    end
  end)

  it("reports a deadlock at once, with the schedule and how to replay it", function()
    local out, status = run_scheduled("pct:5:3:56", [[
      local threading = require "threading"
      local a, b = threading.Lock(), threading.Lock()
      local function one(x, y) for _ = 1, 2 do x:acquire() y:acquire() y:release() x:release() end end
      local t1, t2 = threading.Thread(one, a, b):start(), threading.Thread(one, b, a):start()
      t1:join() t2:join()
    ]])
    assert.equal(3, status, out)
    assert.matches("deadlock: all threads are blocked", out)
    assert.matches("schedule: pct:5:3:56", out)
    if tlua_host then assert.matches("replay: tlua %-X sched=pct:5:3:56", out) end
  end)
end)

describe("threading.check", function()
  it("passes a correct program 1000 times (a counter under a Lock, a Queue pipeline)", function()
    assert.equal(1000, threading.check(function()
      local c, lock = threading.shared{n = 0}, threading.Lock()
      local q = threading.Queue(2)
      local function add(s, l) for _ = 1, 3 do l:with(function() s.n = s.n + 1 end) end end
      local function produce(q) for i = 1, 3 do q:put(i) end q:put(false) end
      local a, b = threading.Thread(add, c, lock):start(), threading.Thread(add, c, lock):start()
      local p = threading.Thread(produce, q):start()
      local sum = 0
      while true do
        local item = q:get()
        if not item then break end
        sum = sum + item
      end
      a:join() b:join() p:join()
      assert(c.n == 6 and sum == 6, "n = " .. c.n .. ", sum = " .. sum)
    end, {runs = 1000}))
  end)

  it("finds the lost update within 100 runs, and its replay loses the same updates", function()
    local ok, err = pcall(threading.check, lost_update, {runs = 100})
    assert.is_false(ok)
    local lost = err:match("lost updates: n = (%d)")
    local spec = err:match('replay = "([^"]+)"')
    assert.is_not_nil(lost, err)
    assert.is_not_nil(spec, err)
    for _ = 1, 3 do
      local again = select(2, pcall(threading.check, lost_update, {replay = spec}))
      assert.equal(lost, again:match("lost updates: n = (%d)"))
    end
  end)

  it("finds the race of the tutorials' counter example (003_race_counter.lua) within 100 runs", function()
    -- increment() and decrement() exactly as in scripts/examples/003_race_counter.lua, 3 times each
    local function increment(state) state.counter = state.counter + 1 end
    local function decrement(state) state.counter = state.counter - 1 end
    local function repeat_n(f, state) for _ = 1, 3 do f(state) end end
    local function run_pair()
      local state = threading.shared{counter = 0}
      local t1 = threading.Thread(repeat_n, increment, state)
      local t2 = threading.Thread(repeat_n, decrement, state)
      t1:start() t2:start() t1:join() t2:join()
      assert(state.counter == 0, "counter = " .. state.counter .. " (should be 0)")
    end
    local ok, err = pcall(threading.check, run_pair, {runs = 100})
    assert.is_false(ok)
    local got, spec = err:match("counter = (%-?%d+)"), err:match('replay = "([^"]+)"')
    assert.is_not_nil(spec, err)
    assert.equal(got, select(2, pcall(threading.check, run_pair, {replay = spec})):match("counter = (%-?%d+)"))
  end)

  it("finds a lock-order deadlock within 200 pct runs and reports who waits for what", function()
    local ok, err = pcall(threading.check, function()
      local a, b = threading.Lock(), threading.Lock()
      local function one(x, y, steps)
        for i = 1, steps do steps = steps + i % 2 end -- a few other steps first
        x:acquire() y:acquire() y:release() x:release()
      end
      local t1, t2 = threading.Thread(one, a, b, 3):start(), threading.Thread(one, b, a, 5):start()
      t1:join() t2:join()
    end, {runs = 200, sched = "pct"})
    assert.is_false(ok)
    assert.matches("deadlock: all threads are blocked", err)
    assert.matches("waits for Lock .- held by Thread%-%d+", err)
    assert.matches('replay = "pct:%d+:3', err)
  end)

  it("finds the PCT paper's depth-1 bug (one thread must run 20 steps uninterrupted) within 50 pct runs", function()
    local ok, err = pcall(threading.check, function()
      local s = threading.shared{done = 0}
      local function long(s) for _ = 1, 20 do s.done = s.done + 1 end end
      local function check(s) assert(s.done < 20, "the long thread ran uninterrupted") end
      local a = threading.Thread(long, s):start()
      local b = threading.Thread(check, s):start()
      a:join() b:join()
    end, {runs = 50, sched = "pct", depth = 1})
    assert.is_false(ok)
    assert.matches("the long thread ran uninterrupted", err)
  end)

  it("fails a run whose thread raises, and one that leaves threads behind", function()
    local ok, err = pcall(threading.check, function()
      threading.Thread(function() error("boom in a thread") end):start():join()
    end, {runs = 5})
    assert.is_false(ok)
    assert.matches("run 1 of 5 failed", err)
    assert.matches("boom in a thread", err)
    ok, err = pcall(threading.check, function()
      threading.Thread(function() threading.Event():wait() end):start() -- never joined, never ends
    end, {runs = 3})
    assert.is_false(ok)
    assert.matches("left alive", err)
    assert.equal(1, threading.active_count()) -- and they are gone
  end)

  it("fails, not spins, a run aborted while a thread waits in a loop (Barrier, Condition)", function()
    -- in a child, bounded: the waits that loop on an aborted run used to spin forever
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write([[
      local threading = require "threading"
      print(pcall(threading.check, function() threading.Barrier(2):wait() end))
      print(pcall(threading.check, function()
        local b = threading.Barrier(3)
        local t = threading.Thread(function() b:wait() end):start()
        b:wait()
        t:join()
      end, {runs = 20}))
      -- Condition.wait taking back a lock that its holder never gives up
      print(pcall(threading.check, function()
        local c, started = threading.Condition(), threading.Event()
        local t = threading.Thread(function() c:acquire(); started:set(); c:wait(); c:release() end):start()
        started:wait()
        c:acquire()
        c:notify()
        threading.Event():wait()
      end, {runs = 5}))
    ]])
    f:close()
    local p = assert(io.popen(("LUA_CPATH=%s timeout 30 %s %s 2>&1; echo \"status $?\""):format(
      shell_quote(package.cpath), shell_quote(helpers.interpreter()), shell_quote(path))))
    local out = p:read("a")
    p:close()
    os.remove(path)
    assert.matches("status 0\n$", out)
    local _, n = out:gsub("false\tthreading.check: run 1 of %d+ failed[^\n]*\ndeadlock: all threads are blocked", "")
    assert.equal(3, n, out)
    assert.matches("waits for Barrier", out)
    assert.matches("waits for Condition", out)
  end)

  it("refuses bad options and a second thread alive", function()
    assert.matches("'sched' must be", select(2, pcall(threading.check, function() end, {sched = "fifo"})))
    assert.matches("'runs' must be", select(2, pcall(threading.check, function() end, {runs = 0})))
    assert.matches("bad replay", select(2, pcall(threading.check, function() end, {replay = "pct:x"})))
    local go = threading.Event()
    local t = threading.Thread(function() go:wait() end):start()
    assert.matches("single thread alive", select(2, pcall(threading.check, function() end)))
    go:set()
    t:join()
    assert.is_nil(threading.schedule())
  end)
end)
