-- GIL fidelity: the legacy GIL, honest traces, releasing the GIL around
-- foreign blocking calls (threading.blocking and the tlua.h C API), and
-- the last divergences from CPython and lua5.4 that testing found.
local threading = require "threading"
local helpers = require "helpers"
local error_of, run_child = helpers.error_of, helpers.run_child

local initially = threading.gil_mode()
local tlua_host = os.getenv("TLUA_HOST") ~= "lua5.4"

local function cpu(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end

describe("the legacy GIL", function()
  after_each(function()
    threading.set_gil(initially)
    threading.setcheckinterval(100)
  end)

  it("is a mode of its own, chosen like the others", function()
    threading.set_gil("legacy")
    assert.equal("legacy", threading.gil_mode())
    assert.is_true(threading.gil_enabled())
    threading.set_gil("new")
    assert.equal("new", threading.gil_mode())
    threading.set_gil(false)
    assert.equal("off", threading.gil_mode())
    threading.set_gil(1)
    assert.equal("new", threading.gil_mode())
    assert.matches("invalid option 'fast'", error_of(threading.set_gil, "fast"))
  end)

  it("is \"scheduled\" while a deterministic schedule runs the threads", function()
    local seen, before = {}, threading.gil_mode()
    threading.check(function()
      seen.mode, seen.stats = threading.gil_mode(), threading.gil_stats().mode
    end, {runs = 1})
    assert.same({mode = "scheduled", stats = "scheduled"}, seen)
    assert.equal(before, threading.gil_mode())
  end)

  it("checks every N instructions and releases to a waiting thread", function()
    threading.set_gil("legacy")
    threading.setcheckinterval(50)
    assert.equal(50, threading.getcheckinterval())
    local before = threading.gil_stats()
    local go = threading.Barrier(2)
    local function worker() go:wait() return cpu(300000) end
    local a, b = threading.Thread(worker):start(), threading.Thread(worker):start()
    assert.equal(cpu(300000), helpers.finish(a))
    assert.equal(cpu(300000), helpers.finish(b))
    local after = threading.gil_stats()
    assert.equal("legacy", after.mode)
    -- 300000 iterations are a few million instructions: tens of thousands of checks
    assert.is_true(after.checks - before.checks > 10000, "checks: " .. after.checks - before.checks)
    assert.equal(0, after.drop_requests - before.drop_requests) -- no drop requests in this GIL
    assert.equal(0, after.forced_switches - before.forced_switches)
    -- A thread that spins until another has run lets it run at a check
    -- (however late the other is scheduled on a loaded machine; the bound
    -- only keeps a broken GIL from hanging the spec).
    local flag = threading.shared{seen = false}
    local spinner = threading.Thread(function()
      for _ = 1, 200000 do
        if flag.seen then return true end
        cpu(1000)
      end
      return false
    end):start()
    local setter = threading.Thread(function() flag.seen = true end):start()
    helpers.finish(setter)
    assert.is_true(helpers.finish(spinner), "the spinner never let the other thread run")
    assert.is_true(threading.gil_stats().check_releases - before.check_releases > 0)
  end)

  it("refuses a bad check interval", function()
    assert.matches("ValueError", error_of(threading.setcheckinterval, 0))
    assert.matches("number expected", error_of(threading.setcheckinterval, "x"))
  end)
end)

describe("gil_stats", function()
  after_each(function() threading.set_gil(initially) end)

  it("counts voluntary releases, time holding the GIL and hand-offs", function()
    threading.set_gil(true)
    local before = threading.gil_stats()
    threading.sleep(0) -- a blocking call releases the GIL
    local go = threading.Event()
    local t = threading.Thread(function() go:wait() end):start()
    go:set()
    t:join()
    local after = threading.gil_stats()
    assert.is_true(after.voluntary_releases > before.voluntary_releases)
    assert.is_true(after.hold_seconds >= before.hold_seconds)
    assert.is_true(after.handoffs >= before.handoffs)
    assert.is_number(after.handoff_max_seconds)
    assert.is_number(after.thread.hold_seconds)
    assert.equal("cpython", after.switchpoints)
  end)
end)

describe("traces with the GIL on", function()
  -- The child records a trace, then measures from its own events how long
  -- two threads were shown running Lua at once: with the GIL on, never.
  local script = [[
    local threading = require "threading"
    local trace = require "threading.trace"
    local n = tonumber(arg[1])
    local function cpu() local s = 0 for i = 1, 400000 do s = s + i % 7 end return s end
    local ts = {}
    for i = 1, n do ts[i] = threading.Thread(cpu):start() end
    for i = 1, n do ts[i]:join() end
    os.execute("true") -- a blocking call: drawn as blocked, not running
    local ev = {}
    for _, th in ipairs(trace.spans().threads) do
      for _, s in ipairs(th.spans) do
        if s.label == "Lua" then ev[#ev + 1] = {s.t0, 1} ev[#ev + 1] = {s.t1, -1} end
        if s.label == "os.execute" then print("blocked in os.execute") end
      end
    end
    table.sort(ev, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
    local running, both, last = 0, 0, 0
    for _, e in ipairs(ev) do
      if running >= 2 then both = both + (e[1] - last) end
      running, last = running + e[2], e[1]
    end
    print("spans", #ev // 2, "two running (ns)", both)
  ]]

  for _, n in ipairs{2, 4, 8} do
    it(("never show two of %d CPU-bound threads running at once"):format(n), function()
      if not tlua_host then return pending("--trace is an option of tlua") end
      local path = os.tmpname()
      local f = assert(io.open(path, "w")) f:write(script) f:close()
      local trace_file = os.tmpname()
      local p = assert(io.popen(("%s -X gil=1 -X switchinterval=0.001 --trace %s %s %d 2>&1"):format(
        helpers.interpreter(), trace_file, path, n)))
      local out = p:read("a")
      p:close()
      os.remove(path)
      os.remove(trace_file)
      local spans, both = out:match("spans%s+(%d+)%s+two running %(ns%)%s+(%d+)")
      assert.is_not_nil(spans, out)
      assert.is_true(tonumber(spans) > n, out) -- the threads were traced, and switched
      assert.equal(0, tonumber(both), out)
      assert.matches("blocked in os.execute", out)
    end)
  end
end)

describe("releasing the GIL around a foreign blocking call", function()
  -- tlua_test_blocking (tests/c/modules/blocking_module.c): block(seconds)
  -- waits until unblock() is called or the time is up, and returns whether
  -- it was unblocked; block_releasing releases the GIL through tlua.h.
  local ok, mod = pcall(require, "tlua_test_blocking")

  local function blocked_in_thread(f)
    mod.reset()
    local t = threading.Thread(f):start()
    while not mod.waiting() do threading.sleep(0.001) end
    mod.unblock() -- runs only if the blocked thread let the GIL go
    return helpers.finish(t)
  end

  it("lets other threads run during threading.blocking(f)", function()
    if not ok then return pending("test module not built: " .. tostring(mod)) end
    assert.is_true(blocked_in_thread(function()
      return require("threading").blocking(require("tlua_test_blocking").block, 30)
    end))
  end)

  it("lets other threads run during a C call that uses tlua_gil_release", function()
    if not ok then return pending("test module not built: " .. tostring(mod)) end
    assert.is_true(blocked_in_thread(function() return require("tlua_test_blocking").block_releasing(30) end))
  end)

  it("keeps the GIL during a C call that does not (so nothing else runs)", function()
    if not ok then return pending("test module not built: " .. tostring(mod)) end
    if not threading.gil_enabled() then return pending("GIL on only") end
    mod.reset()
    local ready = threading.Event()
    local t = threading.Thread(function(ready)
      local m = require("tlua_test_blocking") -- (require's searchers release the GIL: before)
      ready:set()
      return m.block(0.3)
    end, ready):start()
    ready:wait()
    mod.unblock() -- main runs again only once t has let the GIL go: after its block
    local unblocked = helpers.finish(t)
    assert.is_false(unblocked)
  end)

  it("re-raises an error of f with the GIL taken back", function()
    assert.matches("boom", error_of(threading.blocking, function() error("boom") end))
    assert.equal(3, select("#", threading.blocking(function() return 1, 2, 3 end)))
    assert.equal(threading.gil_enabled(), threading.gil_stats().enabled)
  end)
end)

describe("divergences from CPython, mended", function()
  it("marks the main thread stopped when the main chunk ends", function()
    local out, ok = run_child [[
      local threading = require "threading"
      local main = threading.main_thread()
      threading.Thread(function(m)
        assert(m:join(30), "main never stopped")
        print("joined main; alive:", m:is_alive(), "stopped:", tostring(m):match("stopped") ~= nil)
        print(pcall(threading._register_atexit, function() end))
      end, main):start()
    ]]
    assert.is_true(ok, out)
    assert.matches("joined main; alive:%s+false%s+stopped:%s+true", out)
    assert.matches("false%s+.-RuntimeError: can't register atexit after shutdown", out)
  end)

  it("refuses to start a thread once the process finalizes", function()
    local out, ok = run_child [[
      local threading = require "threading"
      -- collected only when the state closes, after tlua's wait for threads
      KEEP = setmetatable({}, {__gc = function()
        local ok, err = pcall(function() threading.Thread(function() end):start():join() end)
        io.stdout:write("started: ", tostring(ok), " ", tostring(err), "\n")
      end})
    ]]
    assert.is_true(ok, out)
    if tlua_host then
      assert.matches("started: false .-RuntimeError: can't create new thread at interpreter shutdown", out)
    else -- stock lua5.4 finalizes it before threading's own exit wait: it may start, and is waited for
      assert.matches("started: true", out)
    end
  end)

  it("gives Thread{name = ''} the default name", function()
    assert.matches("^Thread%-%d+$", threading.Thread{target = function() end, name = ""}.name)
  end)

  it("names the thread by its id when the default excepthook has none", function()
    local out = run_child [[
      local threading = require "threading"
      threading.excepthook{traceback = "the traceback"}
      print("ident " .. threading.get_ident())
    ]]
    local id = out:match("ident (%d+)")
    assert.is_not_nil(id, out)
    helpers.assert_contains(out, "Exception in thread " .. id .. ":\nthe traceback")
  end)

  it("keeps lua5.4's messages in the io functions it wraps, in every thread", function()
    local function messages()
      local f = io.tmpfile()
      f:close()
      local function msg(fn, ...) return select(2, pcall(fn, ...)) end
      return {
        msg(io.write, {}), msg(io.read, {}), msg(os.execute, {}),
        msg(function() io.stdout:write({}) end), msg(function() f:write("x") end),
      }
    end
    local expected = {
      "bad argument #1 to 'io.write' (string expected, got table)",
      "bad argument #1 to 'io.read' (string expected, got table)",
      "bad argument #1 to 'os.execute' (string expected, got table)",
      "bad argument #1 to 'write' (string expected, got table)",
      "attempt to use a closed file",
    }
    for _, got in ipairs{messages(), helpers.run(messages)} do
      for i, e in ipairs(expected) do assert.matches(e, got[i], 1, true) end
      assert.matches("^.-gil_fidelity_spec.lua:%d+: bad argument #1 to 'write'", got[4])
    end
  end)
end)
