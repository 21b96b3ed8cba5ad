-- threading.Semaphore and BoundedSemaphore: counting, timeouts, errors,
-- tostring, with/hold, waking waiters, bounding concurrency.
local threading = require "threading"
local helpers = require "helpers"
local spawn = helpers.spawn
local join_all = helpers.join_all

describe("Semaphore", function()
  it("starts at 1 by default and counts down to 0", function()
    local s = threading.Semaphore()
    assert.equal("Semaphore(value 1)", tostring(s))
    assert.is_true(s:acquire())
    assert.is_false(s:acquire(false))
    assert.equal("Semaphore(value 0)", tostring(s))
    s:release()
    assert.equal("Semaphore(value 1)", tostring(s))
  end)

  it("takes an initial value, 0 included", function()
    local s = threading.Semaphore(3)
    for _ = 1, 3 do assert.is_true(s:acquire(false)) end
    assert.is_false(s:acquire(false))
    assert.is_false(threading.Semaphore(0):acquire(false))
  end)

  it("refuses a negative initial value", function()
    assert.has_error(function() threading.Semaphore(-1) end,
      "ValueError: semaphore initial value must be >= 0")
    assert.has_error(function() threading.BoundedSemaphore(-3) end,
      "ValueError: semaphore initial value must be >= 0")
    assert.error_matches(function() threading.Semaphore(1.5) end, "integer")
  end)

  it("returns false when the timeout runs out", function()
    local s = threading.Semaphore(0)
    local t0 = threading.monotonic()
    assert.is_false(s:acquire(true, 0.1))
    local elapsed = threading.monotonic() - t0
    assert.is_true(elapsed >= 0.09 and elapsed < 10, "waited " .. elapsed)
    assert.is_false(s:acquire(true, 0))
    assert.is_false(s:acquire(true, -1)) -- negative: do not wait, as Python
  end)

  it("checks acquire's arguments", function()
    local s = threading.Semaphore()
    assert.has_error(function() s:acquire(false, 1) end,
      "ValueError: can't specify timeout for non-blocking acquire")
    assert.error_matches(function() s:acquire(true, 0 / 0) end, "NaN")
    assert.error_matches(function() s:acquire(1) end, "boolean expected")
    assert.error_matches(function() s.acquire(threading.Lock()) end, "Semaphore expected, got threading.Lock")
  end)

  it("releases n at once and refuses n < 1", function()
    local s = threading.Semaphore(0)
    s:release(3)
    assert.equal("Semaphore(value 3)", tostring(s))
    assert.has_error(function() s:release(0) end, "ValueError: n must be one or more")
    assert.has_error(function() s:release(-2) end, "ValueError: n must be one or more")
    assert.equal("Semaphore(value 3)", tostring(s))
  end)

  it("has no upper bound", function()
    local s = threading.Semaphore(1)
    s:release()
    s:release(10)
    assert.equal("Semaphore(value 12)", tostring(s))
  end)

  it("wakes a blocked acquire when another thread releases", function()
    local s = threading.Semaphore(0)
    local started = threading.Event()
    local t = spawn(function(sem, ev)
      ev:set()
      return sem:acquire(true, 30)
    end, s, started)
    assert.is_true(started:wait(30))
    threading.sleep(0.02) -- a chance to block; the result is the same either way
    s:release()
    assert.is_true(t:join(30))
    assert.is_true(t:result())
    assert.equal("Semaphore(value 0)", tostring(s))
  end)

  it("wakes n waiters with release(n)", function()
    local s = threading.Semaphore(0)
    local threads = {}
    for i = 1, 3 do threads[i] = spawn(function(sem) return sem:acquire(true, 30) end, s) end
    s:release(3)
    join_all(threads)
    for i = 1, 3 do assert.is_true(threads[i]:result()) end
    assert.equal("Semaphore(value 0)", tostring(s))
  end)

  it("works with with() and hold()", function()
    local s = threading.Semaphore(2)
    assert.equal(7, s:with(function()
      assert.equal("Semaphore(value 1)", tostring(s))
      return 7
    end))
    do
      local _ <close> = s:hold()
      local _ <close> = s:hold()
      assert.is_false(s:acquire(false))
    end
    assert.equal("Semaphore(value 2)", tostring(s))
    assert.is_false(pcall(s.with, s, error, "boom"))
    assert.equal("Semaphore(value 2)", tostring(s))
  end)

  it("bounds how many threads are inside at once", function()
    local s = threading.Semaphore(3)
    local guard = threading.Lock()
    local stats = threading.shared{inside = 0, max = 0, entered = 0}
    -- Each group of 3 meets at the barrier while inside the semaphore:
    -- this finishes only if 3 threads can be inside together.
    local meet = threading.Barrier(3, nil, 30)
    local threads = {}
    for i = 1, 9 do
      threads[i] = spawn(function(sem, lock, st, b)
        sem:acquire()
        lock:acquire()
        st.inside = st.inside + 1
        st.entered = st.entered + 1
        if st.inside > st.max then st.max = st.inside end
        lock:release()
        b:wait()
        lock:acquire()
        st.inside = st.inside - 1
        lock:release()
        sem:release()
      end, s, guard, stats, meet)
    end
    join_all(threads)
    assert.equal(9, stats.entered)
    assert.equal(3, stats.max)
    assert.equal(0, stats.inside)
    assert.equal("Semaphore(value 3)", tostring(s))
  end)
end)

describe("BoundedSemaphore", function()
  it("refuses to go above its initial value", function()
    local s = threading.BoundedSemaphore(2)
    assert.equal("BoundedSemaphore(value 2/2)", tostring(s))
    assert.has_error(function() s:release() end, "ValueError: Semaphore released too many times")
    s:acquire()
    s:acquire()
    assert.equal("BoundedSemaphore(value 0/2)", tostring(s))
    assert.has_error(function() s:release(3) end, "ValueError: Semaphore released too many times")
    assert.equal("BoundedSemaphore(value 0/2)", tostring(s))
    s:release(2)
    assert.equal("BoundedSemaphore(value 2/2)", tostring(s))
    assert.has_error(function() s:release() end, "ValueError: Semaphore released too many times")
  end)

  it("defaults to 1 and counts like a Semaphore", function()
    local s = threading.BoundedSemaphore()
    assert.is_true(s:acquire(true, 1))
    assert.is_false(s:acquire(true, 0.01))
    s:release()
    assert.has_error(function() s:release(1) end, "ValueError: Semaphore released too many times")
    assert.has_error(function() s:release(0) end, "ValueError: n must be one or more")
  end)

  it("is usable from other threads", function()
    local s = threading.BoundedSemaphore(1)
    s:acquire()
    local t = spawn(function(sem)
      sem:release()
      return pcall(sem.release, sem)
    end, s)
    assert.is_true(t:join(30))
    local ok, err = t:result()
    assert.is_false(ok)
    assert.matches("Semaphore released too many times", err, 1, true)
    assert.equal("BoundedSemaphore(value 1/1)", tostring(s))
  end)
end)
