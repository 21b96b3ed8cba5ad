-- threading.Event: set/clear/is_set/wait, timeouts, tostring, waking
-- every waiter, shared by reference between threads.
local threading = require "threading"
local helpers = require "helpers"
local spawn = helpers.spawn

describe("Event", function()
  it("starts unset and follows set() and clear()", function()
    local e = threading.Event()
    assert.is_false(e:is_set())
    assert.equal("Event(unset)", tostring(e))
    e:set()
    assert.is_true(e:is_set())
    assert.equal("Event(set)", tostring(e))
    e:set() -- twice: still set
    assert.is_true(e:is_set())
    e:clear()
    assert.is_false(e:is_set())
    e:clear()
    assert.is_false(e:is_set())
  end)

  it("returns true at once from wait() when set", function()
    local e = threading.Event()
    e:set()
    assert.is_true(e:wait())
    assert.is_true(e:wait(0))
    assert.is_true(e:wait(10))
  end)

  it("returns false when the timeout runs out", function()
    local e = threading.Event()
    local t0 = threading.monotonic()
    assert.is_false(e:wait(0.1))
    local elapsed = threading.monotonic() - t0
    assert.is_true(elapsed >= 0.09 and elapsed < 10, "waited " .. elapsed)
    assert.is_false(e:wait(0))
    assert.is_false(e:wait(-1)) -- negative: do not wait
  end)

  it("checks its arguments", function()
    local e = threading.Event()
    assert.error_matches(function() e:wait(0 / 0) end, "NaN")
    assert.error_matches(function() e:wait("soon") end, "number expected")
    assert.error_matches(function() e.set(threading.Lock()) end, "Event expected")
  end)

  it("wakes every waiting thread when set by another thread", function()
    local e = threading.Event()
    local ready = threading.Semaphore(0)
    local threads = {}
    for i = 1, 4 do
      threads[i] = spawn(function(ev, r)
        r:release()
        return ev:wait(30), ev:is_set()
      end, e, ready)
    end
    for _ = 1, 4 do assert.is_true(ready:acquire(true, 30)) end
    threading.sleep(0.02) -- a chance to block; the result is the same either way
    local setter = spawn(function(ev) ev:set() end, e)
    assert.is_true(setter:join(30))
    for _, t in ipairs(threads) do
      assert.is_true(t:join(30))
      assert.same({true, true}, {t:result()})
    end
  end)

  it("is the same flag in every thread", function()
    local e = threading.Event()
    local t = spawn(function(ev)
      local before = ev:is_set()
      ev:set()
      return before
    end, e)
    assert.is_true(t:join(30))
    assert.is_false(t:result())
    assert.is_true(e:is_set())
    t = spawn(function(ev) ev:clear() end, e)
    assert.is_true(t:join(30))
    assert.is_false(e:is_set())
  end)

  it("serves as a one-shot start signal for many threads", function()
    local go = threading.Event()
    local counter = threading.shared{n = 0}
    local guard = threading.Lock()
    local threads = {}
    for i = 1, 6 do
      threads[i] = spawn(function(ev, c, lock)
        if not ev:wait(30) then return false end
        lock:with(function() c.n = c.n + 1 end)
        return true
      end, go, counter, guard)
    end
    assert.equal(0, counter.n)
    go:set()
    for _, t in ipairs(threads) do
      assert.is_true(t:join(30))
      assert.is_true(t:result())
    end
    assert.equal(6, counter.n)
  end)
end)
