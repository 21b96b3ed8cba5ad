-- threading.Condition: its lock, wait/wait_for/notify/notify_all, the
-- errors without the lock, FIFO wake-ups, notify(n) waking exactly n,
-- RLock levels kept across wait.
local threading = require "threading"
local helpers = require "helpers"
local spawn = helpers.spawn
local join_all = helpers.join_all

-- Starts n threads that each wait on 'cond' (timeout 30 s) and, once woken,
-- count themselves in 'state.woken', note their number in 'order' and
-- release 'done'.  Returns when all n are queued on the condition.
local function start_waiters(cond, n, state, order, done)
  local threads = {}
  for i = 1, n do
    local queued = threading.Event()
    threads[i] = spawn(function(c, s, ord, dn, q, me)
      c:acquire()
      q:set()
      local notified = c:wait(30)
      s.woken = s.woken + 1
      ord[#ord + 1] = me
      c:release()
      dn:release()
      return notified
    end, cond, state, order, done, queued, i)
    assert.is_true(queued:wait(30))
    -- Taking the lock proves the waiter released it inside wait(), so it
    -- is queued: waiters queue in the order they were started.
    cond:acquire()
    cond:release()
  end
  return threads
end

describe("Condition", function()
  it("uses a new RLock by default, or the lock given", function()
    local c = threading.Condition()
    assert.equal("Condition(RLock(unlocked), 0 waiting)", tostring(c))
    assert.equal("threading.RLock", getmetatable(c.lock).__name)
    local l = threading.Lock()
    local c2 = threading.Condition(l)
    assert.equal(l, c2.lock)
    c2:acquire()
    assert.is_true(l:locked())
    assert.equal("Condition(Lock(locked by MainThread), 0 waiting)", tostring(c2))
    c2:release()
    assert.is_false(l:locked())
    local r = threading.RLock()
    assert.equal(r, threading.Condition(r).lock)
  end)

  it("refuses anything but a Lock or an RLock", function()
    assert.error_matches(function() threading.Condition({lock = {}}) end, "Lock or RLock expected")
    assert.error_matches(function() threading.Condition(function() end) end, "Lock or RLock expected")
    assert.error_matches(function() threading.Condition(threading.Semaphore()) end,
      "Lock or RLock expected")
  end)

  it("acquires and releases its lock with the lock's semantics", function()
    local c = threading.Condition()
    assert.is_true(c:acquire())
    assert.is_true(c:acquire(false))
    assert.equal(2, c.lock:_recursion_count())
    c:release()
    c:release()
    assert.has_error(function() c:release() end, "RuntimeError: cannot release un-acquired lock")
    local c2 = threading.Condition(threading.Lock())
    c2:acquire()
    assert.is_false(c2:acquire(false))
    assert.is_false(c2:acquire(true, 0.01))
    c2:release()
    assert.has_error(function() c2:release() end, "RuntimeError: release unlocked lock")
  end)

  it("raises RuntimeError when waiting or notifying without the lock", function()
    for _, c in ipairs{threading.Condition(), threading.Condition(threading.Lock())} do
      assert.has_error(function() c:wait(0) end, "RuntimeError: cannot wait on un-acquired lock")
      assert.has_error(function() c:wait_for(function() return true end) end,
        "RuntimeError: cannot wait on un-acquired lock")
      assert.has_error(function() c:notify() end, "RuntimeError: cannot notify on un-acquired lock")
      assert.has_error(function() c:notify_all() end,
        "RuntimeError: cannot notify on un-acquired lock")
    end
  end)

  it("raises RuntimeError when another thread holds the lock", function()
    local c = threading.Condition(threading.Lock())
    c:acquire()
    local t = spawn(function(cond)
      local ok1, e1 = pcall(cond.wait, cond, 0)
      local ok2, e2 = pcall(cond.notify, cond)
      return ok1, e1, ok2, e2
    end, c)
    assert.is_true(t:join(30))
    local ok1, e1, ok2, e2 = t:result()
    assert.is_false(ok1)
    assert.matches("cannot wait on un-acquired lock", e1, 1, true)
    assert.is_false(ok2)
    assert.matches("cannot notify on un-acquired lock", e2, 1, true)
    c:release()
  end)

  it("returns false from wait when the timeout runs out, lock held again", function()
    local c = threading.Condition()
    c:acquire()
    local t0 = threading.monotonic()
    assert.is_false(c:wait(0.1))
    local elapsed = threading.monotonic() - t0
    assert.is_true(elapsed >= 0.09 and elapsed < 10, "waited " .. elapsed)
    assert.equal(1, c.lock:_recursion_count())
    assert.is_false(c:wait(0))
    assert.is_false(c:wait(-1))
    assert.equal(1, c.lock:_recursion_count())
    c:notify() -- nobody waits: nothing happens
    c:notify_all()
    c:release()
  end)

  it("releases every level of an RLock while waiting and restores them", function()
    local c = threading.Condition()
    local inside = threading.Event()
    c:acquire()
    c:acquire()
    c:acquire()
    local t = spawn(function(cond, ev)
      -- Can only get the lock while the main thread waits.
      local got = cond:acquire(true, 30)
      local count = cond.lock:_recursion_count()
      ev:set()
      cond:notify()
      cond:release()
      return got, count
    end, c, inside)
    assert.is_true(c:wait(30))
    assert.is_true(inside:is_set())
    assert.equal(3, c.lock:_recursion_count())
    assert.equal("Condition(RLock(owned by MainThread, count 3), 0 waiting)", tostring(c))
    c:release()
    c:release()
    c:release()
    assert.is_true(t:join(30))
    assert.same({true, 1}, {t:result()})
  end)

  it("releases a plain Lock while waiting", function()
    local l = threading.Lock()
    local c = threading.Condition(l)
    c:acquire()
    local t = spawn(function(cond, lock)
      lock:acquire()
      cond:notify()
      lock:release()
    end, c, l)
    assert.is_true(c:wait(30))
    assert.is_true(l:locked())
    assert.equal("Lock(locked by MainThread)", tostring(l))
    c:release()
    assert.is_true(t:join(30))
  end)

  it("wakes waiters in FIFO order, one per notify()", function()
    local c = threading.Condition()
    local state = threading.shared{woken = 0}
    local order = threading.shared{}
    local done = threading.Semaphore(0)
    local threads = start_waiters(c, 5, state, order, done)
    assert.equal("Condition(RLock(unlocked), 5 waiting)", tostring(c))
    for _ = 1, 5 do
      c:acquire()
      c:notify()
      c:release()
      assert.is_true(done:acquire(true, 30))
    end
    join_all(threads)
    assert.same({1, 2, 3, 4, 5}, {order[1], order[2], order[3], order[4], order[5]})
    for _, t in ipairs(threads) do assert.is_true(t:result()) end
  end)

  it("wakes exactly n waiters with notify(n)", function()
    local c = threading.Condition(threading.Lock())
    local state = threading.shared{woken = 0}
    local order = threading.shared{}
    local done = threading.Semaphore(0)
    local threads = start_waiters(c, 5, state, order, done)
    c:acquire()
    c:notify(2)
    assert.equal("Condition(Lock(locked by MainThread), 3 waiting)", tostring(c))
    c:release()
    assert.is_true(done:acquire(true, 30))
    assert.is_true(done:acquire(true, 30))
    assert.is_false(done:acquire(true, 0.2)) -- nobody else was woken
    assert.equal(2, state.woken)
    local first = {order[1], order[2]} -- the two woken first (FIFO), in any order
    table.sort(first)
    assert.same({1, 2}, first)
    c:acquire()
    c:notify(0) -- no-op, as in Python
    c:notify_all()
    assert.equal("Condition(Lock(locked by MainThread), 0 waiting)", tostring(c))
    c:release()
    join_all(threads)
    assert.equal(5, state.woken)
    for _, t in ipairs(threads) do assert.is_true(t:result()) end
  end)

  it("wakes every waiter with notify_all()", function()
    local c = threading.Condition()
    local state = threading.shared{woken = 0}
    local threads = start_waiters(c, 4, state, threading.shared{}, threading.Semaphore(0))
    c:with(function() c:notify_all() end)
    join_all(threads)
    assert.equal(4, state.woken)
  end)

  it("does not count a timed-out waiter as woken", function()
    local c = threading.Condition()
    local state = threading.shared{woken = 0}
    local done = threading.Semaphore(0)
    local threads = start_waiters(c, 1, state, threading.shared{}, done)
    c:acquire()
    assert.is_false(c:wait(0.05)) -- main itself times out: not in the queue any more
    c:notify(1)                     -- so this goes to the other waiter
    c:release()
    assert.is_true(done:acquire(true, 30))
    join_all(threads)
    assert.is_true(threads[1]:result())
  end)

  describe("wait_for", function()
    it("returns the predicate's value at once when it is true", function()
      local c = threading.Condition()
      c:acquire()
      assert.equal(42, c:wait_for(function() return 42 end))
      assert.equal("yes", c:wait_for(function() return "yes" end, 0))
      c:release()
    end)

    it("returns the predicate's last value on timeout", function()
      local c = threading.Condition()
      c:acquire()
      local calls = 0
      local t0 = threading.monotonic()
      local v = c:wait_for(function() calls = calls + 1; return nil end, 0.1)
      assert.is_nil(v)
      assert.is_true(threading.monotonic() - t0 >= 0.09)
      assert.is_true(calls >= 2) -- once before waiting, once after the timeout
      assert.is_false(c:wait_for(function() return false end, 0))
      c:release()
    end)

    it("calls the predicate with the lock held", function()
      local c = threading.Condition()
      c:acquire()
      local owned = c:wait_for(function() return c.lock:_is_owned() end, 1)
      assert.is_true(owned)
      c:release()
    end)

    it("lets the predicate's error through, lock still held", function()
      local c = threading.Condition()
      c:acquire()
      assert.error_matches(function() c:wait_for(function() error("bad predicate") end) end,
        "bad predicate")
      assert.is_true(c.lock:_is_owned())
      c:release()
    end)

    it("waits until another thread makes the predicate true", function()
      local c = threading.Condition()
      local box = threading.shared{value = nil}
      local t = spawn(function(cond, b)
        for i = 1, 3 do
          cond:acquire()
          b.value = i
          cond:notify_all()
          cond:release()
        end
      end, c, box)
      c:acquire()
      local v = c:wait_for(function() return box.value == 3 and "three" end, 30)
      c:release()
      assert.equal("three", v)
      assert.is_true(t:join(30))
    end)
  end)

  it("works with with() and hold()", function()
    local c = threading.Condition()
    assert.equal("ok", c:with(function()
      assert.is_true(c.lock:_is_owned())
      return "ok"
    end))
    do
      local _ <close> = c:hold()
      assert.is_false(c:wait(0))
    end
    assert.is_false(c.lock:locked())
  end)

  it("passes items from 4 producers to 4 consumers without losing any", function()
    local c = threading.Condition()
    local q = threading.shared{head = 1, tail = 0, consumed = 0, sum = 0}
    local threads = {}
    for p = 1, 4 do
      threads[#threads + 1] = spawn(function(cond, s, base)
        for i = 1, 250 do
          cond:acquire()
          s.tail = s.tail + 1
          s[s.tail] = base + i
          cond:notify()
          cond:release()
        end
      end, c, q, p * 1000)
    end
    for _ = 1, 4 do
      threads[#threads + 1] = spawn(function(cond, s)
        local mine = 0
        for _ = 1, 250 do
          cond:acquire()
          assert(cond:wait_for(function() return s.head <= s.tail end, 30), "starved")
          local item = s[s.head]
          s[s.head] = nil
          s.head = s.head + 1
          s.sum = s.sum + item
          s.consumed = s.consumed + 1
          cond:release()
          mine = mine + 1
        end
        return mine
      end, c, q)
    end
    join_all(threads)
    for i = 5, 8 do assert.equal(250, threads[i]:result()) end
    assert.equal(1000, q.consumed)
    local expected = 0
    for p = 1, 4 do for i = 1, 250 do expected = expected + p * 1000 + i end end
    assert.equal(expected, q.sum)
  end)
end)
