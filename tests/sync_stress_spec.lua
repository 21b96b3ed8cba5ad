-- 8 threads hammering each synchronisation primitive: counts must be
-- exact, nothing may deadlock and no wake-up may be lost.  Every wait has
-- a generous timeout, so a bug fails the spec instead of hanging it.
local threading = require "threading"

local N = 8

local function run_all(target, ...)
  local threads = {}
  for i = 1, N do threads[i] = threading.Thread(target, i, ...):start() end
  local results = {}
  for i, t in ipairs(threads) do
    assert.is_true(t:join(60), "thread " .. i .. " did not finish")
    results[i] = t:result()
  end
  return results
end

describe("under load", function()
  it("Lock keeps a shared counter exact", function()
    local lock = threading.Lock()
    local c = threading.shared{n = 0}
    run_all(function(_, l, s)
      for _ = 1, 10000 do
        l:acquire()
        s.n = s.n + 1
        l:release()
      end
    end, lock, c)
    assert.equal(N * 10000, c.n)
    assert.is_false(lock:locked())
  end)

  it("RLock keeps a shared counter exact with nested holds", function()
    local rlock = threading.RLock()
    local c = threading.shared{n = 0}
    run_all(function(_, r, s)
      for _ = 1, 4000 do
        r:with(function()
          local _ <close> = r:hold()
          s.n = s.n + 1
        end)
      end
    end, rlock, c)
    assert.equal(N * 4000, c.n)
    assert.is_false(rlock:locked())
  end)

  it("Condition passes every item through a bounded buffer (notify, not notify_all)", function()
    local lock = threading.Lock()
    local not_full, not_empty = threading.Condition(lock), threading.Condition(lock)
    local buf = threading.shared{head = 1, tail = 0, taken = 0, sum = 0}
    local per_producer = 1000
    local results = run_all(function(i, nf, ne, b, n, workers)
      local producer = i <= workers / 2
      for k = 1, n do
        if producer then
          nf:acquire()
          if not nf:wait_for(function() return b.tail - b.head + 1 < 4 end, 30) then
            nf:release()
            return "producer starved"
          end
          b.tail = b.tail + 1
          b[b.tail] = i * 10000 + k
          ne:notify()
          nf:release()
        else
          ne:acquire()
          if not ne:wait_for(function() return b.head <= b.tail end, 30) then
            ne:release()
            return "consumer starved"
          end
          local item = b[b.head]
          b[b.head] = nil
          b.head = b.head + 1
          b.taken = b.taken + 1
          b.sum = b.sum + item
          nf:notify()
          ne:release()
        end
      end
      return "ok"
    end, not_full, not_empty, buf, per_producer, N)
    for i = 1, N do assert.equal("ok", results[i]) end
    local expected = 0
    for i = 1, N / 2 do for k = 1, per_producer do expected = expected + i * 10000 + k end end
    assert.equal(N / 2 * per_producer, buf.taken)
    assert.equal(expected, buf.sum)
  end)

  it("Semaphore and BoundedSemaphore bound the threads inside", function()
    for _, make in ipairs{threading.Semaphore, threading.BoundedSemaphore} do
      local sem = make(3)
      local guard = threading.Lock()
      local st = threading.shared{inside = 0, max = 0, passes = 0}
      run_all(function(_, s, g, t)
        for _ = 1, 1500 do
          s:acquire()
          g:acquire()
          t.inside = t.inside + 1
          t.passes = t.passes + 1
          if t.inside > t.max then t.max = t.inside end
          g:release()
          g:acquire()
          t.inside = t.inside - 1
          g:release()
          s:release()
        end
      end, sem, guard, st)
      assert.equal(N * 1500, st.passes)
      assert.is_true(st.max >= 1 and st.max <= 3, "max inside: " .. st.max)
      assert.equal(0, st.inside)
      assert.matches("value 3", tostring(sem), 1, true)
    end
  end)

  it("Event ping-pong loses no wake-up", function()
    local pings, pongs = {}, {}
    for p = 1, N / 2 do pings[p], pongs[p] = threading.Event(), threading.Event() end
    local rounds = 1000
    local results = run_all(function(i, pi, po, n)
      local pair = (i + 1) // 2
      local ping, pong = pi[pair], po[pair]
      for _ = 1, n do
        if i % 2 == 1 then
          ping:set()
          if not pong:wait(30) then return "pong lost" end
          pong:clear()
        else
          if not ping:wait(30) then return "ping lost" end
          ping:clear()
          pong:set()
        end
      end
      return "ok"
    end, pings, pongs, rounds)
    for i = 1, N do assert.equal("ok", results[i]) end
  end)

  it("Barrier hands out distinct indices every round", function()
    local log = threading.shared{actions = 0}
    local b = threading.Barrier(N, function() log.actions = log.actions + 1 end, 30)
    local rounds = 300
    local results = run_all(function(_, barrier, n)
      local sum = 0
      for _ = 1, n do sum = sum + barrier:wait() end
      return sum
    end, b, rounds)
    local total = 0
    for i = 1, N do total = total + results[i] end
    assert.equal(rounds * (N * (N - 1) // 2), total)
    assert.equal(rounds, log.actions)
    assert.is_false(b.broken)
  end)
end)
