-- Ownership probes (issue 13, "What it must show"): every kind of object
-- passed into a task of its own kind -- a lock into the thread that holds
-- it, a queue into its consumer, a future into the task that completes it,
-- a thread into its own target, an executor into its own task... -- is
-- collected there (its box, by collectgarbage() in the receiver), then used
-- again afterwards by the receiver (received anew) and by the sender.  The
-- object must still work on both sides, be the same object (identity), and
-- be freed once both let it go (no reference lost or leaked).
local threading = require "threading"
local helpers = require "helpers"

local settles_to = helpers.settles_to

-- The receiver: a thread that gets the object (argument 1), runs
-- before(obj), drops it and checks that its box was collected, tells the
-- sender, waits for it, receives the object anew through a queue and runs
-- after(obj2).  Returns whether the box was collected, then after's results.
local function receiver(obj, before, after, q, collected, proceed)
  before(obj)
  local weak = setmetatable({obj}, {__mode = "v"})
  obj = nil
  collectgarbage() collectgarbage()
  local gone = weak[1] == nil
  collected:set()
  assert(proceed:wait(10), "the sender did not go on")
  local again = q:get(true, 10)
  return gone, after(again)
end

-- The whole probe: make() the object; the receiver thread runs before();
-- while the receiver has collected its box, the sender runs during(obj);
-- then it sends the object again, and may run with(obj) while the receiver
-- runs after() (for objects both must use at once, a Barrier).  check(obj,
-- ...) gets the receiver's results.  Finally no object may be left alive.
local function probe(spec)
  collectgarbage() collectgarbage()
  local live = threading._live_objects()
  do
    local obj = spec.make()
    local q, collected, proceed = threading.Queue(), threading.Event(), threading.Event()
    local t = threading.Thread(receiver, obj, spec.before or function() end, spec.after, q, collected, proceed)
    t:start()
    assert.is_true(collected:wait(10))
    if spec.during then spec.during(obj) end
    q:put(obj)
    proceed:set()
    if spec.with then spec.with(obj) end
    assert.is_true(t:join(10))
    local results = table.pack(t:result())
    assert.is_true(results[1], "the receiver's box was not collected")
    if spec.check then spec.check(obj, table.unpack(results, 2, results.n)) end
  end
  assert(settles_to(live), ("%d objects left alive"):format(threading._live_objects() - live))
end

describe("ownership: an object passed into a task of its own kind, collected there, used again", function()
  it("Lock, into the thread that holds it", function()
    probe{
      make = threading.Lock,
      before = function(lock) assert(lock:acquire()) end,
      during = function(lock)
        assert.is_true(lock:locked()) -- still held by the receiver
        assert.is_false(lock:acquire(false))
      end,
      after = function(lock)
        local held = lock:locked()
        lock:release()
        return held
      end,
      check = function(lock, held)
        assert.is_true(held)
        assert.is_true(lock:acquire(false))
        lock:release()
      end,
    }
  end)

  it("RLock, into the thread that holds it twice", function()
    probe{
      make = threading.RLock,
      before = function(r) r:acquire() r:acquire() end,
      during = function(r)
        assert.is_false(r:acquire(false))
        assert.is_false(r:_is_owned())
      end,
      after = function(r)
        local owned, count = r:_is_owned(), r:_recursion_count()
        r:release() r:release()
        return owned, count, r:locked()
      end,
      check = function(r, owned, count, locked)
        assert.is_true(owned)
        assert.equal(2, count)
        assert.is_false(locked)
        assert.is_true(r:acquire(false))
        r:release()
      end,
    }
  end)

  it("Condition, into the thread that holds and waits on it", function()
    probe{
      make = threading.Condition,
      before = function(c) c:acquire() end,
      during = function(c) assert.is_false(c:acquire(false)) end,
      after = function(c)
        c:notify_all()
        local notified = c:wait(0) -- releases and takes it back: false, no one notified
        c:release()
        return notified
      end,
      check = function(c, notified)
        assert.is_false(notified)
        assert.is_true(c:acquire(false))
        c:notify()
        c:release()
      end,
    }
  end)

  it("Semaphore, into the thread that acquires it", function()
    probe{
      make = function() return threading.Semaphore(1) end,
      before = function(s) assert(s:acquire()) end,
      during = function(s) assert.is_false(s:acquire(false)) end,
      after = function(s) s:release() end,
      check = function(s)
        assert.is_true(s:acquire(false))
        s:release()
      end,
    }
  end)

  it("BoundedSemaphore, into the thread that acquires it", function()
    probe{
      make = function() return threading.BoundedSemaphore(1) end,
      before = function(s) assert(s:acquire()) end,
      during = function(s) assert.is_false(s:acquire(false)) end,
      after = function(s)
        s:release()
        return (pcall(s.release, s)) -- one too many
      end,
      check = function(s, over)
        assert.is_false(over)
        assert.is_true(s:acquire(false))
        s:release()
      end,
    }
  end)

  it("Event, into the thread that waits for it", function()
    probe{
      make = threading.Event,
      before = function(e) assert(not e:is_set()) end,
      during = function(e) e:set() end,
      after = function(e)
        local seen = e:wait(10)
        e:clear()
        return seen
      end,
      check = function(e, seen)
        assert.is_true(seen)
        assert.is_false(e:is_set())
      end,
    }
  end)

  it("Barrier, into a thread that waits on it with the sender", function()
    local index
    probe{
      make = function() return threading.Barrier(2) end,
      during = function(b) assert.equal(0, b.n_waiting) end,
      after = function(b) return b:wait(10) end,
      with = function(b) index = b:wait(10) end,
      check = function(b, other)
        assert.same({0, 1}, index < other and {index, other} or {other, index})
        assert.is_false(b.broken)
      end,
    }
  end)

  for _, kind in ipairs{"Queue", "LifoQueue", "PriorityQueue", "SimpleQueue"} do
    it(kind .. ", into its consumer thread", function()
      probe{
        make = function()
          local q = threading[kind]()
          q:put(1)
          return q
        end,
        before = function(q)
          assert(q:get(true, 10) == 1)
          if q.task_done then q:task_done() end
        end,
        during = function(q) q:put(2) end,
        after = function(q)
          local item = q:get(true, 10)
          if q.task_done then q:task_done() end
          return item
        end,
        with = function(q) if q.join then q:join() end end,
        check = function(q, item)
          assert.equal(2, item)
          assert.is_true(q:empty())
        end,
      }
    end)
  end

  it("Future, into the task that completes it", function()
    probe{
      make = threading.Future,
      before = function(f) assert(f:set_running_or_notify_cancel()) end,
      during = function(f)
        assert.is_true(f:running())
        assert.is_false(f:cancel())
      end,
      after = function(f) f:set_result(42, "answer") end,
      check = function(f)
        assert.same({42, "answer"}, {f:result(10)})
      end,
    }
  end)

  it("shared table, into the thread that updates it", function()
    probe{
      make = function() return threading.shared{n = 1} end,
      before = function(s) s.n = s.n + 1 end,
      during = function(s)
        assert.equal(2, s.n)
        s.n = s.n + 1
      end,
      after = function(s)
        s.n = s.n + 1
        return s.n
      end,
      check = function(s, n)
        assert.equal(4, n)
        assert.equal(4, s.n)
      end,
    }
  end)

  -- A thread (or Timer) cannot take itself as an argument: it receives
  -- itself through a queue, collects it, then receives it again.
  for _, kind in ipairs{"Thread", "Timer"} do
    it(kind .. ", into its own target", function()
      collectgarbage() collectgarbage()
      local live = threading._live_objects()
      do
        local q, collected, proceed = threading.Queue(), threading.Event(), threading.Event()
        local function target(q, collected, proceed)
          local threading = require "threading"
          local me = q:get(true, 10)
          local same = me == threading.current_thread()
          local weak = setmetatable({me}, {__mode = "v"})
          me = nil
          collectgarbage() collectgarbage()
          local gone = weak[1] == nil
          collected:set()
          assert(proceed:wait(10))
          local again = q:get(true, 10)
          return same, gone, again == threading.current_thread(), again:is_alive(), again.name,
                 (pcall(again.join, again)) -- joining itself: RuntimeError
        end
        local t = kind == "Timer" and threading.Timer(0, target, q, collected, proceed)
                  or threading.Thread{target = target, args = {q, collected, proceed}, name = "own target"}
        if kind == "Timer" then t.name = "own target" end
        t:start()
        q:put(t)
        assert.is_true(collected:wait(10))
        assert.is_true(t:is_alive())
        assert.equal("own target", t.name)
        q:put(t)
        proceed:set()
        assert.is_true(t:join(10))
        assert.same({true, true, true, true, "own target", false}, {t:result()})
        assert.is_false(t:is_alive())
      end
      assert(settles_to(live), ("%d objects left alive"):format(threading._live_objects() - live))
    end)
  end

  -- An executor's worker keeps a task's arguments until the task returns
  -- (as Python's work item does): the box is collected by the worker's next
  -- task (one worker, so the same state; the weak table is a global there).
  it("Future of an executor, into a task of the same executor", function()
    local ex <close> = threading.ThreadPoolExecutor(1)
    local gate = threading.Event()
    local other <close> = threading.ThreadPoolExecutor(1)
    local first = other:submit(function(gate) assert(gate:wait(10)) return "first" end, gate)
    ex:submit(function(f) weak_box = setmetatable({f}, {__mode = "v"}) end, first):result(10)
    local collected = ex:submit(function()
      collectgarbage() collectgarbage()
      return weak_box[1] == nil
    end)
    assert.is_true(collected:result(10))
    assert.is_false(first:done())
    gate:set()
    assert.equal("first", first:result(10))
    local again = ex:submit(function(f) return f:result(10), f:done() end, first)
    assert.same({"first", true}, {again:result(10)})
  end)

  it("ThreadPoolExecutor, into its own task", function()
    local out, status = helpers.run_timeout([[
      local threading = require "threading"
      collectgarbage() collectgarbage()
      local live = threading._live_objects()
      local ex = threading.ThreadPoolExecutor(1)
      -- a task receives the executor; the next one collects it (one worker:
      -- the same state); a third gets it again and submits to it
      ex:submit(function(ex) weak_box = setmetatable({ex}, {__mode = "v"}) end, ex):result(5)
      local gone = ex:submit(function()
        collectgarbage() collectgarbage()
        return weak_box[1] == nil
      end):result(5)
      local f = ex:submit(function(ex) return ex:submit(function() return "inner" end) end, ex)
      print("GONE", gone)
      print("INNER", pcall(function() return f:result(5):result(5) end))
      print("SENDER", pcall(function() return ex:submit(function() return "outer" end):result(5) end))
      ex:shutdown()
      -- once both sides let it go, nothing is left: the executor, its work,
      -- its workers and futures
      ex, f = nil, nil
      local deadline = threading.monotonic() + 5
      repeat collectgarbage() collectgarbage() threading.sleep(0.005)
      until threading._live_objects() <= live or threading.monotonic() > deadline
      print("LEFT", threading._live_objects() - live)
      print("END")
    ]])
    helpers.assert_exit(0, status, out)
    helpers.assert_matches("GONE\ttrue", out)
    helpers.assert_matches("INNER\ttrue\tinner", out)
    helpers.assert_matches("SENDER\ttrue\touter", out)
    helpers.assert_matches("LEFT\t0", out)
    helpers.assert_matches("END", out)
  end)
end)
