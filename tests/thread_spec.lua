-- Threads: construction, start/join/result, names, idents, daemon flag,
-- module functions and the excepthook (contract section 2, "Threads").
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_value

local run = helpers.run

-- Calls f and returns the error it raises (fails if it does not raise).

local function assert_contains(text, part)
  assert.is_string(text)
  assert(text:find(part, 1, true), ("%q does not contain %q"):format(text, part))
end

-- The command that runs this spec's interpreter (tlua or lua5.4), for
-- child processes: ctest sets TLUA_HOST and TLUA.
local interpreter, shell_quote, run_child = helpers.interpreter, helpers.shell_quote, helpers.run_child

describe("Thread", function()
  -- Threads that fail on purpose must not print to the test output.
  before_each(function() threading.excepthook = function() end end)
  after_each(function() threading.excepthook = nil end)

  describe("constructor", function()
    it("takes a target and its arguments: Thread(f, ...)", function()
      local a, b, c = run(function(x, y, z) return z, y, x end, 1, "two", {3})
      assert.same({3}, a)
      assert.equal("two", b)
      assert.equal(1, c)
    end)

    it("takes a table: Thread{target=, args=, name=, daemon=}", function()
      local t = threading.Thread{target = function(x, y) return x * y end, args = {6, 7},
                                 name = "multiplier", daemon = true}
      assert.equal("multiplier", t.name)
      assert.is_true(t.daemon)
      t:start()
      assert.is_true(t:join(30))
      assert.equal(42, t:result())
    end)

    it("keeps nil arguments with table.pack's n", function()
      local n, a, b, c = run(function(...) return select("#", ...), ... end, nil, 2, nil)
      assert.equal(3, n)
      assert.same({nil, 2, nil}, {a, b, c})
      local t = threading.Thread{target = function(...) return select("#", ...) end,
                                 args = table.pack(nil, nil)}
      t:start()
      t:join()
      assert.equal(2, t:result())
    end)

    it("may have no target: the thread does nothing", function()
      local t = threading.Thread{name = "idle"}
      t:start()
      assert.is_true(t:join(30))
      assert.equal(0, select("#", t:result()))
    end)

    it("takes a callable table as the target", function()
      local callable = setmetatable({}, {__call = function(_, ...) return select("#", ...), ... end})
      assert.same({2, "a", "b"}, {run(callable, "a", "b")})
      assert.same({0}, {run(callable)})
    end)

    it("rejects a target that is not callable", function()
      assert_contains(error_of(threading.Thread, 42), "function")
      assert_contains(error_of(threading.Thread, {target = 42}), "function")
    end)

    it("copies the target: later changes to its upvalues are not seen", function()
      local box = {value = "before"}
      local t = threading.Thread(function() return box.value end)
      box.value = "after"
      t:start()
      t:join()
      assert.equal("before", t:result())
    end)

    it("fails at construction for an argument that cannot cross", function()
      assert_contains(error_of(threading.Thread, function() end, coroutine.create(print)),
                      "cannot send coroutine")
      local co = coroutine.create(print)
      assert.equal("target<upvalue co>: cannot send coroutine",
                   error_of(threading.Thread, function() return co end):gsub("^[^:]*:%d+: ", ""))
    end)
  end)

  describe("start", function()
    it("can only be called once", function()
      local t = threading.Thread(function() end)
      t:start()
      assert_contains(error_of(t.start, t), "RuntimeError: threads can only be started once")
      t:join()
      assert_contains(error_of(t.start, t), "RuntimeError: threads can only be started once")
    end)

    it("returns the thread", function()
      local t = threading.Thread(function() end)
      assert.equal(t, t:start())
      t:join()
    end)
  end)

  describe("join", function()
    it("returns false on timeout, then true once the thread finished", function()
      local go = threading.Event()
      finally(function() go:set() end)
      local t = threading.Thread(function() go:wait() end)
      t:start()
      local t0 = threading.monotonic()
      assert.is_false(t:join(0.05))
      assert.is_true(threading.monotonic() - t0 >= 0.04)
      assert.is_true(t:is_alive())
      go:set()
      assert.is_true(t:join(30))
      assert.is_true(t:join(0)) -- again: still true
      assert.is_false(t:is_alive())
    end)

    it("refuses a thread that was not started", function()
      local t = threading.Thread(function() end)
      assert_contains(error_of(t.join, t), "RuntimeError: cannot join thread before it is started")
    end)

    it("refuses the current thread", function()
      assert_contains(error_of(function() threading.current_thread():join() end),
                      "RuntimeError: cannot join current thread")
      local t = threading.Thread(function()
        local ok, err = pcall(function() threading.current_thread():join() end)
        return ok, err
      end)
      t:start()
      t:join()
      local ok, err = t:result()
      assert.is_false(ok)
      assert_contains(err, "RuntimeError: cannot join current thread")
    end)
  end)

  describe("is_alive", function()
    it("is false before start, true while running, false after", function()
      local go = threading.Event()
      finally(function() go:set() end)
      local t = threading.Thread(function() go:wait() end)
      assert.is_false(t:is_alive())
      t:start()
      assert.is_true(t:is_alive())
      go:set()
      t:join()
      assert.is_false(t:is_alive())
    end)
  end)

  describe("result", function()
    it("returns every value, nil included", function()
      local t = threading.Thread(function() return 1, nil, "x", nil end)
      t:start()
      t:join()
      assert.equal(4, select("#", t:result()))
      assert.same({1, nil, "x", nil}, {t:result()})
    end)

    it("keeps integers and floats apart", function()
      local i, f, nz = run(function() return 3, 3.0, -0.0 end)
      assert.equal("integer", math.type(i))
      assert.equal("float", math.type(f))
      assert.equal(-math.huge, 1 / nz)
    end)

    it("re-raises the thread's error with its traceback", function()
      local t = threading.Thread(function()
        local function inner() error("boom") end
        inner()
      end)
      t:start()
      t:join()
      local err = error_of(t.result, t)
      assert_contains(err, "boom")
      assert_contains(err, "stack traceback:")
      assert_contains(err, "inner")
      -- Again: the error is kept.
      assert_contains(error_of(t.result, t), "boom")
    end)

    it("re-raises a table error object as a copy", function()
      local t = threading.Thread(function() error({code = 42, tags = {"a"}}) end)
      t:start()
      t:join()
      local err = error_of(t.result, t)
      assert.same({code = 42, tags = {"a"}}, err)
    end)

    it("reports an error value that cannot cross by its text", function()
      local t = threading.Thread(function() error(coroutine.create(print)) end)
      t:start()
      t:join()
      local err = error_of(t.result, t)
      assert_contains(tostring(err), "thread")
    end)

    it("refuses a thread that has not finished", function()
      local go = threading.Event()
      finally(function() go:set() end)
      local t = threading.Thread(function() go:wait() end)
      assert_contains(error_of(t.result, t), "RuntimeError")
      t:start()
      assert_contains(error_of(t.result, t), "RuntimeError")
      go:set()
      t:join()
      assert.equal(0, select("#", t:result()))
    end)

    it("reports results that cannot cross as an error of the thread", function()
      local t = threading.Thread(function() return coroutine.create(print) end)
      t:start()
      t:join()
      assert_contains(error_of(t.result, t), "result: cannot send coroutine")
    end)
  end)

  describe("name", function()
    it("defaults to Thread-N with increasing N", function()
      local a, b = threading.Thread(function() end), threading.Thread(function() end)
      local na, nb = a.name:match("^Thread%-(%d+)$"), b.name:match("^Thread%-(%d+)$")
      assert.is_truthy(na, a.name)
      assert.is_truthy(nb, b.name)
      assert.is_true(tonumber(nb) > tonumber(na))
    end)

    it("is seen by the thread itself, and can be changed", function()
      local t = threading.Thread{target = function() return threading.current_thread().name end,
                                 name = "first"}
      assert.equal("first", t.name)
      t.name = "second"
      t:start()
      t:join()
      assert.equal("second", t:result())
      t.name = "third" -- also after it ran
      assert.equal("third", t.name)
    end)

    it("can be renamed by the thread itself", function()
      local t = threading.Thread(function() threading.current_thread().name = "self-named" end)
      t:start()
      t:join()
      assert.equal("self-named", t.name)
    end)

    it("of the main thread is MainThread", function()
      assert.equal("MainThread", threading.main_thread().name)
    end)
  end)

  describe("ident and native_id", function()
    it("are nil before start and integers after", function()
      local go = threading.Event()
      finally(function() go:set() end)
      local running = threading.Event()
      local t = threading.Thread(function() running:set() go:wait() end)
      assert.is_nil(t.ident)
      assert.is_nil(t.native_id)
      t:start()
      assert.is_true(running:wait(30))
      assert.equal("integer", math.type(t.ident))
      assert.equal("integer", math.type(t.native_id))
      go:set()
      t:join()
      assert.equal("integer", math.type(t.ident)) -- kept after the end
    end)

    it("are set as soon as start() returns, as in Python", function()
      local go = threading.Event()
      finally(function() go:set() end)
      local t = threading.Thread(function() go:wait() end)
      t:start()
      assert.equal("integer", math.type(t.native_id))
      assert.equal("integer", math.type(t.ident))
    end)

    it("are known to a thread that reads them at once", function()
      for _ = 1, 100 do
        local quick = threading.Thread(function()
          return threading.current_thread().ident == threading.get_ident()
        end)
        quick:start()
        quick:join()
        assert.is_true(quick:result())
      end
    end)

    it("match get_ident/get_native_id in the thread and differ between threads", function()
      local function ids()
        local me = threading.current_thread()
        return threading.get_ident(), threading.get_native_id(), me.ident, me.native_id
      end
      local go = threading.Event()
      finally(function() go:set() end)
      local function held() go:wait() return ids() end
      local t1, t2 = threading.Thread(held), threading.Thread(held)
      t1:start()
      t2:start()
      go:set()
      t1:join()
      t2:join()
      local i1, n1, own_i1, own_n1 = t1:result()
      local i2, n2 = t2:result()
      assert.equal(t1.ident, i1)
      assert.equal(t1.native_id, n1)
      assert.equal(i1, own_i1)
      assert.equal(n1, own_n1)
      assert.equal(t2.native_id, n2)
      assert.are_not.equal(n1, n2)
      assert.are_not.equal(i1, i2)
      assert.are_not.equal(threading.get_native_id(), n1)
      assert.are_not.equal(threading.get_ident(), i1)
      assert.equal(threading.get_ident(), threading.main_thread().ident)
      assert.equal(threading.get_native_id(), threading.main_thread().native_id)
    end)
  end)

  describe("daemon", function()
    it("is inherited from the creating thread", function()
      assert.is_false(threading.Thread(function() end).daemon)
      local t = threading.Thread{daemon = true, target = function()
        local child = threading.Thread(function() end)
        local explicit = threading.Thread{target = function() end, daemon = false}
        return child.daemon, explicit.daemon
      end}
      t:start()
      t:join()
      local inherited, explicit = t:result()
      assert.is_true(inherited)
      assert.is_false(explicit)
    end)

    it("can be set before start only", function()
      local t = threading.Thread(function() end)
      t.daemon = true
      assert.is_true(t.daemon)
      t.daemon = false
      assert.is_false(t.daemon)
      t:start()
      assert_contains(error_of(function() t.daemon = true end),
                      "RuntimeError: cannot set daemon status of active thread")
      t:join()
      assert.is_false(t.daemon)
    end)

    it("of the main thread is false and cannot be set", function()
      local main = threading.main_thread()
      assert.is_false(main.daemon)
      assert_contains(error_of(function() main.daemon = true end), "RuntimeError")
    end)
  end)

  describe("fields", function()
    it("unknown fields are nil and cannot be set", function()
      local t = threading.Thread(function() end)
      assert.is_nil(t.nonexistent)
      assert_contains(error_of(function() t.nonexistent = 1 end), "cannot set field")
    end)

    it("has a readable tostring", function()
      local t = threading.Thread{target = function() end, name = "shown"}
      assert_contains(tostring(t), "shown")
      assert_contains(tostring(t), "initial")
      t:start()
      t:join()
      assert_contains(tostring(t), "stopped")
    end)
  end)
end)

describe("module functions", function()
  it("current_thread is the Thread object, in every thread", function()
    -- (Returning current_thread() itself would make a reference cycle
    -- thread -> result -> thread that is never freed: compare fields.)
    local t = threading.Thread{name = "me", target = function()
      local me = threading.current_thread()
      return me.name, me.native_id, me:is_alive()
    end}
    t:start()
    t:join()
    local name, native_id, alive = t:result()
    assert.equal("me", name)
    assert.equal(t.native_id, native_id)
    assert.is_true(alive)
    assert.equal(threading.main_thread(), threading.current_thread())
  end)

  it("main_thread is the same object in every thread", function()
    local main = run(function() return threading.main_thread() end)
    assert.equal(threading.main_thread(), main)
    assert.is_true(main:is_alive())
  end)

  it("enumerate and active_count list the alive threads, main included", function()
    local base = threading.active_count()
    assert.equal(base, #threading.enumerate())
    local go = threading.Event()
    finally(function() go:set() end)
    local started = threading.Barrier(3)
    local function worker() started:wait() go:wait() end
    local t1, t2 = threading.Thread(worker), threading.Thread(worker)
    t1:start()
    t2:start()
    started:wait()
    local list = threading.enumerate()
    assert.equal(base + 2, threading.active_count())
    assert.equal(base + 2, #list)
    local seen = {}
    for _, th in ipairs(list) do seen[th] = true end
    assert.is_true(seen[t1] and seen[t2] and seen[threading.main_thread()])
    assert.equal(threading.main_thread(), list[1])
    go:set()
    t1:join()
    t2:join()
    assert.equal(base, threading.active_count())
    local after = {}
    for _, th in ipairs(threading.enumerate()) do after[th] = true end
    assert.is_nil(after[t1])
    assert.is_nil(after[t2])
  end)

  it("sleep waits and refuses negative lengths", function()
    local t0 = threading.monotonic()
    threading.sleep(0.02)
    assert.is_true(threading.monotonic() - t0 >= 0.015)
    threading.sleep(0)
    assert_contains(error_of(threading.sleep, -1), "ValueError")
    assert_contains(error_of(threading.sleep, "x"), "number expected")
  end)

  it("monotonic is a float that never goes back", function()
    local a = threading.monotonic()
    local b = threading.monotonic()
    assert.equal("float", math.type(a))
    assert.is_true(b >= a)
  end)

  it("stack_size reports and sets the size of new threads' stacks", function()
    local old = threading.stack_size()
    assert.equal("integer", math.type(old))
    assert.equal(old, threading.stack_size(4 * 1024 * 1024))
    assert.equal(4 * 1024 * 1024, threading.stack_size())
    assert.equal(42, run(function() return 42 end))
    assert_contains(error_of(threading.stack_size, 100), "ValueError")
    assert.equal(4 * 1024 * 1024, threading.stack_size(32768)) -- (rounded up to a safe size)
    assert.is_true(threading.stack_size() >= 1024 * 1024)
    assert.equal(42, run(function() return 42 end))
    threading.stack_size(old)
    assert.equal(old, threading.stack_size())
  end)
end)

describe("excepthook", function()
  after_each(function() threading.excepthook = nil end)

  it("by default prints 'Exception in thread NAME:' and the traceback on stderr", function()
    local out, ok = run_child([[
      local threading = require "threading"
      local t = threading.Thread{name = "doomed", target = function()
        local function deep() error("kaput") end
        deep()
      end}
      t:start()
      t:join()
      print("main goes on")
    ]])
    assert.is_true(ok, out)
    assert_contains(out, "Exception in thread doomed:")
    assert_contains(out, "kaput")
    assert_contains(out, "stack traceback:")
    assert_contains(out, "deep")
    assert_contains(out, "main goes on")
    assert.is_true(out:find("Exception in thread", 1, true) < out:find("main goes on", 1, true))
  end)

  it("set in one thread applies to errors in the others", function()
    local got = threading.shared()
    local reported = threading.Event()
    threading.excepthook = function(info)
      got.name = info.thread_name
      got.error = info.error
      got.traceback = info.traceback
      got.thread_ok = info.thread ~= nil
      reported:set()
    end
    assert.is_function(threading.excepthook)
    local t = threading.Thread{name = "failing", target = function() error({why = "table"}) end}
    t:start()
    t:join()
    assert.is_true(reported:wait(30))
    assert.equal("failing", got.name)
    assert.same({why = "table"}, got.error)
    assert_contains(got.traceback, "stack traceback:")
    assert.is_true(got.thread_ok)
  end)

  it("set inside a thread applies to the other threads", function()
    local got = threading.shared()
    local reported = threading.Event()
    local setter = threading.Thread(function()
      threading.excepthook = function(info)
        got.name = info.thread_name
        got.error = info.error
        reported:set()
      end
    end)
    setter:start()
    setter:join()
    local t = threading.Thread{name = "second", target = function() error("plain", 0) end}
    t:start()
    t:join()
    assert.is_true(reported:wait(30))
    assert.equal("second", got.name)
    assert.equal("plain", got.error)
  end)

  it("an error in the hook itself is reported, the process goes on", function()
    local out, ok = run_child([[
      local threading = require "threading"
      threading.excepthook = function(info) error("hook broke") end
      local t = threading.Thread(function() error("first") end)
      t:start()
      t:join()
      print("still here")
    ]])
    assert.is_true(ok, out)
    assert_contains(out, "hook broke")
    assert_contains(out, "still here")
  end)

  it("is restored to the default by assigning nil", function()
    threading.excepthook = function() end
    threading.excepthook = nil
    local out = run_child([[
      local threading = require "threading"
      threading.excepthook = function() end
      threading.excepthook = nil
      local t = threading.Thread{name = "loud", target = function() error("shown") end}
      t:start()
      t:join()
    ]])
    assert_contains(out, "Exception in thread loud:")
  end)
end)
