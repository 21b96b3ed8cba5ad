-- threading.Barrier: indices, the action (once, in the last thread, before
-- the others go on), reuse, timeouts, abort, reset, errors in the action.
local threading = require "threading"
local helpers = require "helpers"
local spawn = helpers.spawn
local join_all = helpers.join_all

-- Polls an observable state (not a synchronisation by sleeping: the
-- loop ends as soon as the state is reached).
local function eventually(pred)
  local deadline = threading.monotonic() + 30
  while not pred() do
    if threading.monotonic() > deadline then return false end
    threading.sleep(0.001)
  end
  return true
end

-- wait() in a new thread; its result() is pcall's.
local function spawn_waiter(b, timeout)
  return spawn(function(barrier, t) return pcall(barrier.wait, barrier, t) end, b, timeout or 30)
end

describe("Barrier", function()
  it("checks its arguments", function()
    assert.has_error(function() threading.Barrier(0) end, "ValueError: parties must be > 0")
    assert.has_error(function() threading.Barrier(-2) end, "ValueError: parties must be > 0")
    assert.error_matches(function() threading.Barrier() end, "number expected")
    assert.error_matches(function() threading.Barrier(2, 42) end, "function expected")
    assert.error_matches(function() threading.Barrier(2, nil, 0 / 0) end, "NaN")
    local co = coroutine.create(function() end)
    assert.error_matches(function() threading.Barrier(2, function() return co end) end,
      "action<upvalue co>: cannot send coroutine", nil, true)
  end)

  it("shows parties, n_waiting and broken", function()
    local b = threading.Barrier(3)
    assert.equal(3, b.parties)
    assert.equal(0, b.n_waiting)
    assert.is_false(b.broken)
    assert.equal("Barrier(parties 3, waiting 0)", tostring(b))
    assert.is_nil(b.nonexistent)
    assert.error_matches(function() b.parties = 4 end, "cannot set field")
  end)

  it("lets a single party through at once, running the action in it", function()
    local ran = threading.shared{by = nil}
    local b = threading.Barrier(1, function() ran.by = threading.current_thread().name end)
    assert.equal(0, b:wait())
    assert.equal(0, b:wait())
    assert.equal("MainThread", ran.by)
  end)

  it("gives each party a distinct index and runs the action once, first", function()
    local log = threading.shared{runs = 0, runner = nil}
    local b = threading.Barrier(4, function()
      log.runs = log.runs + 1
      log.runner = threading.current_thread().name
    end)
    local threads = {}
    for i = 1, 3 do
      threads[i] = threading.Thread{name = "party" .. i, target = function(barrier, l)
        local index = barrier:wait(30)
        return index, l.runs
      end, args = {b, log}}
      threads[i]:start()
    end
    local my_index = b:wait(30)
    local seen = {[my_index] = true}
    assert.equal(1, log.runs)
    join_all(threads)
    for _, t in ipairs(threads) do
      local index, runs = t:result()
      assert.is_nil(seen[index], "index given twice")
      seen[index] = true
      assert.equal(1, runs) -- the action ran before this party was released
    end
    assert.same({[0] = true, [1] = true, [2] = true, [3] = true}, seen)
    assert.equal(1, log.runs)
    local runner = log.runner
    assert.is_true(runner == "MainThread" or runner:match("^party%d$") ~= nil, runner)
    assert.is_false(b.broken)
    assert.equal(0, b.n_waiting)
  end)

  it("can be used for many rounds", function()
    local log = threading.shared{runs = 0}
    local b = threading.Barrier(3, function() log.runs = log.runs + 1 end)
    local rounds = 20
    local threads = {}
    for i = 1, 2 do
      threads[i] = spawn(function(barrier, n)
        local indices = {}
        for r = 1, n do indices[r] = barrier:wait(30) end
        return indices
      end, b, rounds)
    end
    local mine = {}
    for r = 1, rounds do mine[r] = b:wait(30) end
    join_all(threads)
    local a, c = threads[1]:result(), threads[2]:result()
    for r = 1, rounds do
      local set = {[mine[r]] = true, [a[r]] = true, [c[r]] = true}
      assert.same({[0] = true, [1] = true, [2] = true}, set)
    end
    assert.equal(rounds, log.runs)
  end)

  it("breaks when a wait times out, until reset", function()
    local b = threading.Barrier(2)
    local t0 = threading.monotonic()
    assert.error_matches(function() b:wait(0.1) end, "BrokenBarrierError")
    assert.is_true(threading.monotonic() - t0 >= 0.09)
    assert.is_true(b.broken)
    assert.equal("Barrier(parties 2, broken)", tostring(b))
    assert.error_matches(function() b:wait(30) end, "BrokenBarrierError")
    b:reset()
    assert.is_false(b.broken)
    local t = spawn_waiter(b)
    local index = b:wait(30)
    assert.is_true(t:join(30))
    local ok, other = t:result()
    assert.is_true(ok)
    assert.equal(1, index + other)
  end)

  it("breaks for every waiter when one times out", function()
    local b = threading.Barrier(3)
    local t = spawn_waiter(b, 30)
    assert.is_true(eventually(function() return b.n_waiting == 1 end))
    assert.error_matches(function() b:wait(0.05) end, "BrokenBarrierError")
    assert.is_true(t:join(30))
    local ok, err = t:result()
    assert.is_false(ok)
    assert.matches("BrokenBarrierError", err, 1, true)
  end)

  it("uses the constructor's timeout by default", function()
    local b = threading.Barrier(2, nil, 0.05)
    assert.error_matches(function() b:wait() end, "BrokenBarrierError")
    assert.is_true(b.broken)
    b:reset()
    assert.error_matches(function() b:wait(0) end, "BrokenBarrierError")
  end)

  it("wakes waiters with BrokenBarrierError on abort()", function()
    local b = threading.Barrier(3)
    local t1, t2 = spawn_waiter(b), spawn_waiter(b)
    assert.is_true(eventually(function() return b.n_waiting == 2 end))
    assert.equal("Barrier(parties 3, waiting 2)", tostring(b))
    b:abort()
    join_all{t1, t2}
    for _, t in ipairs{t1, t2} do
      local ok, err = t:result()
      assert.is_false(ok)
      assert.matches("BrokenBarrierError", err, 1, true)
    end
    assert.is_true(b.broken)
    assert.equal(0, b.n_waiting)
    assert.error_matches(function() b:wait(30) end, "BrokenBarrierError")
  end)

  it("wakes waiters with BrokenBarrierError on reset(), then works again", function()
    local b = threading.Barrier(2)
    local t = spawn_waiter(b)
    assert.is_true(eventually(function() return b.n_waiting == 1 end))
    b:reset()
    assert.is_true(t:join(30))
    local ok, err = t:result()
    assert.is_false(ok)
    assert.matches("BrokenBarrierError", err, 1, true)
    assert.is_false(b.broken)
    t = spawn_waiter(b)
    local index = b:wait(30)
    assert.is_true(t:join(30))
    local ok2, other = t:result()
    assert.is_true(ok2)
    assert.equal(1, index + other)
  end)

  it("re-raises an error of the action in its thread and breaks the barrier", function()
    local b = threading.Barrier(3, function() error({reason = "boom"}) end)
    local threads = {}
    for i = 1, 3 do
      threads[i] = spawn(function(barrier)
        local ok, err = pcall(barrier.wait, barrier, 30)
        if type(err) == "table" then err = err.reason end
        return ok, err
      end, b)
    end
    join_all(threads)
    local booms, broken = 0, 0
    for _, t in ipairs(threads) do
      local ok, err = t:result()
      assert.is_false(ok)
      if err == "boom" then booms = booms + 1
      elseif err:match("BrokenBarrierError") then broken = broken + 1 end
    end
    assert.equal(1, booms)
    assert.equal(2, broken)
    assert.is_true(b.broken)
  end)

  it("copies the action with its upvalues into the thread that runs it", function()
    local out = threading.shared{}
    local factor = 6
    local b = threading.Barrier(2, function() out.value = factor * 7 end)
    local t = spawn_waiter(b)
    b:wait(30)
    assert.is_true(t:join(30))
    assert.equal(42, out.value)
  end)
end)
