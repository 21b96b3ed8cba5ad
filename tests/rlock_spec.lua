-- threading.RLock: re-entrance, owner-only release, recursion count,
-- tostring, with/hold, and mutual exclusion between threads.
local threading = require "threading"
local helpers = require "helpers"
local spawn = helpers.spawn
local join_all = helpers.join_all

describe("RLock", function()
  it("can be acquired again by its owner and counts the levels", function()
    local r = threading.RLock()
    assert.is_false(r:locked())
    assert.equal(0, r:_recursion_count())
    assert.is_true(r:acquire())
    assert.is_true(r:acquire())
    assert.is_true(r:acquire(false))
    assert.equal(3, r:_recursion_count())
    assert.is_true(r:_is_owned())
    r:release()
    r:release()
    assert.is_true(r:locked())
    assert.equal(1, r:_recursion_count())
    r:release()
    assert.is_false(r:locked())
    assert.is_false(r:_is_owned())
  end)

  it("raises RuntimeError when released more times than acquired", function()
    local r = threading.RLock()
    assert.has_error(function() r:release() end, "RuntimeError: cannot release un-acquired lock")
    r:acquire()
    r:release()
    assert.has_error(function() r:release() end, "RuntimeError: cannot release un-acquired lock")
  end)

  it("may be released by its owner only", function()
    local r = threading.RLock()
    r:acquire()
    local t = spawn(function(lock)
      local ok, err = pcall(lock.release, lock)
      return ok, err, lock:_is_owned(), lock:_recursion_count(), lock:locked()
    end, r)
    assert.is_true(t:join(30))
    local ok, err, owned, count, locked = t:result()
    assert.is_false(ok)
    assert.matches("RuntimeError: cannot release un-acquired lock", err, 1, true)
    assert.is_false(owned)
    assert.equal(0, count)
    assert.is_true(locked)
    assert.equal(1, r:_recursion_count())
    r:release()
  end)

  it("keeps other threads out until every level is released", function()
    local r = threading.RLock()
    r:acquire()
    r:acquire()
    local try = function(lock) return lock:acquire(false), lock:acquire(true, 0.05) end
    local t = spawn(try, r)
    assert.is_true(t:join(30))
    assert.same({false, false}, {t:result()})
    r:release()
    t = spawn(try, r)
    assert.is_true(t:join(30))
    assert.same({false, false}, {t:result()})
    r:release()
    t = spawn(function(lock)
      local got = lock:acquire(false)
      lock:release()
      return got
    end, r)
    assert.is_true(t:join(30))
    assert.is_true(t:result())
  end)

  it("wakes a blocked acquire when the owner releases the last level", function()
    local r = threading.RLock()
    local started = threading.Event()
    r:acquire()
    r:acquire()
    local t = spawn(function(lock, ev)
      ev:set()
      local got = lock:acquire(true, 30)
      local count = lock:_recursion_count()
      lock:release()
      return got, count
    end, r, started)
    assert.is_true(started:wait(30))
    r:release()
    threading.sleep(0.02) -- a chance to block; the result is the same either way
    r:release()
    assert.is_true(t:join(30))
    assert.same({true, 1}, {t:result()})
  end)

  it("checks its arguments as Lock does", function()
    local r = threading.RLock()
    assert.has_error(function() r:acquire(false, 1) end,
      "ValueError: can't specify a timeout for a non-blocking call")
    assert.has_error(function() r:acquire(true, -5) end,
      "ValueError: timeout value must be a non-negative number")
    assert.error_matches(function() r.acquire(threading.Lock()) end, "RLock expected")
  end)

  it("describes its state, owner and count", function()
    local r = threading.RLock()
    assert.equal("RLock(unlocked)", tostring(r))
    r:acquire()
    r:acquire()
    assert.equal("RLock(owned by MainThread, count 2)", tostring(r))
    r:release()
    r:release()
    local t = threading.Thread{name = "worker", target = function(lock)
      lock:acquire()
      return tostring(lock)
    end, args = {r}}
    t:start()
    assert.is_true(t:join(30))
    assert.equal("RLock(owned by worker, count 1)", t:result())
  end)

  it("nests with() and hold()", function()
    local r = threading.RLock()
    local depth = r:with(function()
      local _ <close> = r:hold()
      return r:with(function() return r:_recursion_count() end)
    end)
    assert.equal(3, depth)
    assert.is_false(r:locked())
    assert.is_false(pcall(r.with, r, function()
      local _ <close> = r:hold()
      error("boom")
    end))
    assert.is_false(r:locked())
  end)

  it("makes 4 threads exclude each other, with re-entrance", function()
    local r = threading.RLock()
    local counter = threading.shared{n = 0, inside = 0, overlap = 0}
    local threads = {}
    for i = 1, 4 do
      threads[i] = spawn(function(lock, c)
        for _ = 1, 1000 do
          lock:acquire()
          lock:acquire()
          c.inside = c.inside + 1
          if c.inside ~= 1 then c.overlap = c.overlap + 1 end
          c.n = c.n + 1
          lock:release()
          c.inside = c.inside - 1
          lock:release()
        end
      end, r, counter)
    end
    join_all(threads)
    assert.equal(4000, counter.n)
    assert.equal(0, counter.overlap)
    assert.is_false(r:locked())
  end)
end)
