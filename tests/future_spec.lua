-- threading.Future (contract section 2, "Executor and futures"), used
-- directly as an executor would: set_running_or_notify_cancel, set_result,
-- set_exception.
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_value
local assert_contains = helpers.assert_contains
local spawn = helpers.spawn
local finish = helpers.finish

-- Child processes (for what is written to stderr): ctest sets TLUA_HOST and TLUA.
local interpreter, shell_quote, run_child = helpers.interpreter, helpers.shell_quote, helpers.run_child

describe("Future", function()
  it("goes pending -> running -> finished", function()
    local f = threading.Future()
    assert.equal("Future(pending)", tostring(f))
    assert.is_false(f:done())
    assert.is_false(f:running())
    assert.is_false(f:cancelled())
    assert.is_true(f:set_running_or_notify_cancel())
    assert.is_true(f:running())
    assert.is_false(f:done())
    f:set_result(1, nil, "three")
    assert.is_true(f:done())
    assert.is_false(f:running())
    assert.equal("Future(finished)", tostring(f))
    assert.same({n = 3, 1, nil, "three"}, table.pack(f:result()))
    assert.is_nil(f:exception())
  end)

  it("result(timeout) raises TimeoutError while pending", function()
    local f = threading.Future()
    local t0 = threading.monotonic()
    assert_contains(error_of(f.result, f, 0.05), "TimeoutError")
    assert.is_true(threading.monotonic() - t0 >= 0.04)
    assert_contains(error_of(f.result, f, 0), "TimeoutError")
    assert_contains(error_of(f.exception, f, 0.01), "TimeoutError")
  end)

  it("result() waits for another thread to complete it", function()
    local f, started = threading.Future(), threading.Queue()
    local t = spawn(function(f, started)
      started:put(true)
      threading.sleep(0.02)
      f:set_running_or_notify_cancel()
      f:set_result({x = 1})
    end, f, started)
    started:get()
    assert.same({x = 1}, f:result())
    finish(t)
  end)

  it("re-raises the error with the worker's traceback text", function()
    local f = threading.Future()
    f:set_running_or_notify_cancel()
    f:set_exception("worker.lua:3: boom", "worker.lua:3: boom\nstack traceback:\n\tworker.lua:3: in function 'task'")
    assert.equal("Future(finished, raised)", tostring(f))
    local err = error_of(f.result, f)
    assert_contains(err, "worker.lua:3: boom")
    assert_contains(err, "stack traceback:")
    assert_contains(err, "in function 'task'")
    local value, tb = f:exception()
    assert.equal("worker.lua:3: boom", value)
    assert_contains(tb, "stack traceback:")
  end)

  it("keeps a non-string error value", function()
    local f = threading.Future()
    f:set_exception({code = 7})
    assert.same({code = 7}, error_of(f.result, f))
    assert.same({code = 7}, (f:exception()))
  end)

  it("keeps the text of an error value that cannot be copied", function()
    local f = threading.Future()
    f:set_exception(setmetatable({}, {__tostring = function() return "odd error" end, __index = io.stdout}))
    assert.equal("odd error", (f:exception()))
  end)

  it("can only complete once", function()
    local f = threading.Future()
    f:set_result(1)
    assert_contains(error_of(f.set_result, f, 2), "InvalidStateError")
    assert_contains(error_of(f.set_exception, f, "x"), "InvalidStateError")
    assert.equal(1, f:result())
    assert_contains(error_of(f.set_running_or_notify_cancel, f), "RuntimeError: Future in unexpected state")
  end)

  describe("cancel", function()
    it("cancels a pending future", function()
      local f = threading.Future()
      assert.is_true(f:cancel())
      assert.is_true(f:cancelled())
      assert.is_true(f:done())
      assert.is_true(f:cancel()) -- already cancelled: still true, as Python
      assert.equal("CancelledError", error_of(f.result, f):match("CancelledError"))
      assert_contains(error_of(f.exception, f), "CancelledError")
      assert.is_false(f:set_running_or_notify_cancel())
    end)

    it("cannot cancel a running or finished future", function()
      local f = threading.Future()
      f:set_running_or_notify_cancel()
      assert.is_false(f:cancel())
      assert.is_false(f:cancelled())
      f:set_result("ok")
      assert.is_false(f:cancel())
      assert.equal("ok", f:result())
    end)

    it("wakes a thread waiting in result()", function()
      local f = threading.Future()
      local t = spawn(function(f) return pcall(f.result, f) end, f)
      threading.sleep(0.01)
      f:cancel()
      local ok, err = finish(t)
      assert.is_false(ok)
      assert_contains(err, "CancelledError")
    end)
  end)

  describe("add_done_callback", function()
    it("calls the callback with the future in the thread that completes it", function()
      local f, seen = threading.Future(), threading.Queue()
      f:add_done_callback(function(fut)
        seen:put({threading.current_thread().name, fut:result(), fut == fut})
      end)
      assert.is_true(seen:empty())
      local t = threading.Thread{target = function(f) f:set_result(5) end, args = {f}, name = "completer"}
      t:start()
      finish(t)
      assert.same({"completer", 5, true}, seen:get())
    end)

    it("calls it at once in the caller when already done (a copy, as always)", function()
      local f, seen = threading.Future(), threading.Queue()
      f:set_result("done")
      local upvalue = "unchanged"
      f:add_done_callback(function(fut)
        upvalue = "changed in the copy"
        seen:put({fut:result(), threading.current_thread().name})
      end)
      assert.is_false(seen:empty()) -- already called
      assert.same({"done", threading.current_thread().name}, seen:get())
      assert.equal("unchanged", upvalue) -- the callback ran as a copy
    end)

    it("calls callbacks in order, on cancel too", function()
      local f, order = threading.Future(), threading.Queue()
      for i = 1, 3 do f:add_done_callback(function(fut) order:put({i, fut:cancelled()}) end) end
      f:cancel()
      assert.same({{1, true}, {2, true}, {3, true}}, {order:get(), order:get(), order:get()})
    end)

    it("refuses a callback that cannot be copied", function()
      local f = threading.Future()
      local file = io.stdout
      assert_contains(error_of(f.add_done_callback, f, function() return file end), "cannot send userdata")
    end)

    it("reports a failing callback on stderr and goes on", function()
      local out, ok = run_child([[
        local threading = require "threading"
        local f = threading.Future()
        f:add_done_callback(function() error("callback exploded") end)
        f:add_done_callback(function() print("second ran") end)
        f:set_result(1)
        print("result", f:result())
      ]])
      assert.is_true(ok, out)
      assert_contains(out, "exception calling callback for Future(finished)")
      assert_contains(out, "callback exploded")
      assert_contains(out, "second ran")
      assert_contains(out, "result\t1")
    end)
  end)

  describe("an error nobody read", function()
    it("is reported on stderr when the future is collected", function()
      local out, ok = run_child([[
        local threading = require "threading"
        local f = threading.Future()
        f:set_exception("lost error", "lost error\nstack traceback: here")
        f = nil
        collectgarbage()
        collectgarbage()
        print("end")
      ]])
      assert.is_true(ok, out)
      assert_contains(out, "Future exception was never retrieved\nlost error\nstack traceback: here")
    end)

    it("is not reported once result() or exception() has seen it", function()
      local out, ok = run_child([[
        local threading = require "threading"
        local a, b, c = threading.Future(), threading.Future(), threading.Future()
        a:set_exception("read by result")
        b:set_exception("read by exception")
        c:set_result("no error at all")
        pcall(a.result, a)
        b:exception()
        a, b, c = nil, nil, nil
        collectgarbage()
        collectgarbage()
        print("end")
      ]])
      assert.is_true(ok, out)
      assert.equal("end\n", out)
    end)
  end)

  it("_add_waiter puts the future into a queue when it completes", function()
    local f, q = threading.Future(), threading.Queue()
    assert.is_true(f:_add_waiter(q))
    assert.is_true(q:empty())
    f:set_result(1)
    assert.equal(f, q:get())
    assert.is_false(f:_add_waiter(q)) -- already done
    assert.is_true(q:empty())
    assert.has_error(function() f:_add_waiter({}) end)
  end)

  it("is shared by reference: both sides see the same future", function()
    local f, q = threading.Future(), threading.Queue()
    q:put(f)
    local t = spawn(function(q)
      local g = q:get()
      g:set_running_or_notify_cancel()
      g:set_result("from thread")
      return g._state
    end, q)
    assert.equal("finished", finish(t))
    assert.equal("from thread", f:result())
    assert.equal(f, (function() q:put(f) return q:get() end)())
  end)
end)
