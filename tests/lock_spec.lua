-- threading.Lock: acquire/release/locked, timeouts, errors, tostring,
-- with/hold, and mutual exclusion between threads.
local threading = require "threading"
local helpers = require "helpers"
local spawn = helpers.spawn
local join_all = helpers.join_all

describe("Lock", function()
  it("starts unlocked and toggles with acquire/release", function()
    local l = threading.Lock()
    assert.is_false(l:locked())
    assert.is_true(l:acquire())
    assert.is_true(l:locked())
    l:release()
    assert.is_false(l:locked())
  end)

  it("refuses a second acquire without blocking", function()
    local l = threading.Lock()
    assert.is_true(l:acquire())
    assert.is_false(l:acquire(false))
    l:release()
    assert.is_true(l:acquire(false))
    l:release()
  end)

  it("returns false when the timeout runs out", function()
    local l = threading.Lock()
    l:acquire()
    local t0 = threading.monotonic()
    assert.is_false(l:acquire(true, 0.1))
    local elapsed = threading.monotonic() - t0
    assert.is_true(elapsed >= 0.09, "returned after " .. elapsed)
    assert.is_true(elapsed < 5, "returned after " .. elapsed)
    assert.is_false(l:acquire(true, 0))
    l:release()
  end)

  it("raises RuntimeError when releasing an unlocked lock", function()
    local l = threading.Lock()
    assert.has_error(function() l:release() end, "RuntimeError: release unlocked lock")
  end)

  it("checks its arguments as Python does", function()
    local l = threading.Lock()
    assert.has_error(function() l:acquire(false, 1) end,
      "ValueError: can't specify a timeout for a non-blocking call")
    assert.has_error(function() l:acquire(true, -2) end,
      "ValueError: timeout value must be a non-negative number")
    assert.error_matches(function() l:acquire(true, 0 / 0) end, "NaN")
    assert.error_matches(function() l:acquire("yes") end, "boolean expected")
    assert.error_matches(function() l.acquire(threading.Event()) end, "Lock expected")
    assert.is_false(l:locked())
  end)

  it("may be released by another thread", function()
    local l = threading.Lock()
    l:acquire()
    local t = spawn(function(lock) lock:release() end, l)
    assert.is_true(t:join(30))
    assert.is_false(l:locked())
  end)

  it("wakes a blocked acquire when released by another thread", function()
    local l = threading.Lock()
    local started = threading.Event()
    l:acquire()
    local t = spawn(function(lock, ev)
      ev:set()
      local got = lock:acquire(true, 30)
      lock:release()
      return got
    end, l, started)
    assert.is_true(started:wait(30))
    threading.sleep(0.02) -- a chance to block; the result is the same either way
    l:release()
    assert.is_true(t:join(30))
    assert.is_true(t:result())
    assert.is_false(l:locked())
  end)

  it("times out in another thread while held", function()
    local l = threading.Lock()
    l:acquire()
    local t = spawn(function(lock) return lock:acquire(true, 0.05), lock:acquire(false) end, l)
    assert.is_true(t:join(30))
    assert.same({false, false}, {t:result()})
    l:release()
  end)

  it("describes its state and owner", function()
    local l = threading.Lock()
    assert.equal("Lock(unlocked)", tostring(l))
    l:acquire()
    assert.equal("Lock(locked by MainThread)", tostring(l))
    l:release()
    local t = threading.Thread{name = "worker", target = function(lock)
      lock:acquire()
      return tostring(lock)
    end, args = {l}}
    t:start()
    assert.is_true(t:join(30))
    assert.equal("Lock(locked by worker)", t:result())
    assert.equal("Lock(locked by worker)", tostring(l))
    l:release()
    assert.equal("Lock(unlocked)", tostring(l))
  end)

  it("is the same object in every thread", function()
    local l = threading.Lock()
    local t = spawn(function(a, b) return rawequal(a, b), a:locked() end, l, l)
    assert.is_true(t:join(30))
    assert.same({true, false}, {t:result()})
  end)

  describe("with()", function()
    it("holds the lock while the function runs and returns its results", function()
      local l = threading.Lock()
      local a, b = l:with(function(x, y)
        assert.is_true(l:locked())
        return x + 1, y .. "!"
      end, 1, "hi")
      assert.equal(2, a)
      assert.equal("hi!", b)
      assert.is_false(l:locked())
    end)

    it("releases and re-raises when the function fails", function()
      local l = threading.Lock()
      local ok, err = pcall(l.with, l, function() error({code = 7}) end)
      assert.is_false(ok)
      assert.same({code = 7}, err)
      assert.is_false(l:locked())
    end)

    it("needs a function", function()
      local l = threading.Lock()
      assert.error_matches(function() l:with(42) end, "function expected")
      assert.is_false(l:locked())
    end)
  end)

  describe("hold()", function()
    it("releases at the end of the scope", function()
      local l = threading.Lock()
      do
        local _ <close> = l:hold()
        assert.is_true(l:locked())
      end
      assert.is_false(l:locked())
    end)

    it("releases when the scope is left by an error", function()
      local l = threading.Lock()
      local ok = pcall(function()
        local _ <close> = l:hold()
        error("boom")
      end)
      assert.is_false(ok)
      assert.is_false(l:locked())
    end)
  end)

  it("makes 4 threads exclude each other on a shared counter", function()
    local l = threading.Lock()
    local counter = threading.shared{n = 0, inside = 0, overlap = 0}
    local threads = {}
    for i = 1, 4 do
      threads[i] = spawn(function(lock, c)
        for _ = 1, 2000 do
          lock:acquire()
          c.inside = c.inside + 1
          if c.inside ~= 1 then c.overlap = c.overlap + 1 end
          c.n = c.n + 1
          c.inside = c.inside - 1
          lock:release()
        end
      end, l, counter)
    end
    join_all(threads)
    assert.equal(8000, counter.n)
    assert.equal(0, counter.overlap)
    assert.is_false(l:locked())
  end)
end)
