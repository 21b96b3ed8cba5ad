-- Waits that watch before they sleep (kernel/watch.c; with the GIL off only,
-- but every spec runs with the GIL on and off): two threads passing a turn
-- strictly back and forth through each primitive, so that a wake-up lost
-- between the watch and the sleep hangs a side (each wait has a generous
-- timeout: a bug fails the spec instead of hanging it); and timeouts far
-- shorter than the watch, which must still end the wait with false.
local threading = require "threading"

local TURNS = 2000

-- Runs player(mine, other, n) in a new thread against the main thread's
-- own loop; both must finish, and each returns how many turns it saw.
local function pass_turns(thread_side, main_side)
  local t = threading.Thread(thread_side, TURNS):start()
  local mine = main_side(TURNS)
  assert.is_true(t:join(60), "the other side did not finish")
  assert.equal(TURNS, t:result())
  assert.equal(TURNS, mine)
end

describe("a turn passed back and forth", function()
  it("through two Events", function()
    local a, b = threading.Event(), threading.Event()
    pass_turns(function(n)
      local seen = 0
      for _ = 1, n do
        assert(b:wait(30), "no turn")
        b:clear()
        seen = seen + 1
        a:set()
      end
      return seen
    end, function(n)
      local seen = 0
      for _ = 1, n do
        b:set()
        assert(a:wait(30), "no turn back")
        a:clear()
        seen = seen + 1
      end
      return seen
    end)
  end)

  it("through two Semaphores", function()
    local a, b = threading.Semaphore(0), threading.Semaphore(0)
    pass_turns(function(n)
      for i = 1, n do
        assert(b:acquire(true, 30), "no turn")
        a:release()
        if i == n then return n end
      end
    end, function(n)
      for i = 1, n do
        b:release()
        assert(a:acquire(true, 30), "no turn back")
        if i == n then return n end
      end
    end)
  end)

  it("through one Condition, its lock taken back each time", function()
    local cv, turn = threading.Condition(), threading.shared{now = 0, passes = 0}
    local function play(me, n)
      for _ = 1, n do
        cv:acquire()
        while turn.now ~= me do assert(cv:wait(30), "no notify") end
        turn.now = 1 - me
        turn.passes = turn.passes + 1
        cv:notify()
        cv:release()
      end
      return n
    end
    pass_turns(function(n) return play(1, n) end, function(n) return play(0, n) end)
    assert.equal(2 * TURNS, turn.passes)
  end)

  it("through a Queue of one slot, in order", function()
    local q = threading.Queue(1)
    local t = threading.Thread(function(n)
      for i = 1, n do assert(q:put(i, true, 30), "no room") end
      return n
    end, TURNS):start()
    for i = 1, TURNS do assert.equal(i, q:get(true, 30)) end
    assert.is_true(t:join(30))
    assert.equal(TURNS, t:result())
    assert.is_true(q:empty())
  end)

  it("through a Barrier of two, round after round", function()
    local b, c = threading.Barrier(2), threading.shared{n = 0}
    local function party(n)
      for i = 1, n do
        assert(b:wait(30) >= 0)
        if i % 2 == 0 then threading.atomic.add(c, "n", 1) end
      end
      return n
    end
    pass_turns(party, party)
    assert.equal(TURNS, c.n) -- each party counted every second round
    assert.is_false(b.broken)
  end)

  it("through an executor's worker and each task's future", function()
    local ex = threading.ThreadPoolExecutor(1)
    for i = 1, TURNS // 4 do assert.equal(i * 2, ex:submit(function(x) return x * 2 end, i):result(30)) end
    ex:shutdown()
  end)

  it("through a Lock held in turn by two threads", function()
    local lock, c = threading.Lock(), threading.shared{n = 0}
    local function add(n)
      for _ = 1, n do
        assert(lock:acquire(true, 30), "lock not had")
        c.n = c.n + 1
        lock:release()
      end
      return n
    end
    pass_turns(add, add)
    assert.equal(2 * TURNS, c.n)
    assert.is_false(lock:locked())
  end)
end)

describe("a timeout shorter than the watch", function()
  local TINY = 1e-6

  it("ends an Event's wait with false", function()
    local t0 = threading.monotonic()
    assert.is_false(threading.Event():wait(TINY))
    assert.is_true(threading.monotonic() - t0 < 1)
  end)

  it("ends a held Lock's acquire with false", function()
    local lock = threading.Lock()
    lock:acquire()
    local t = threading.Thread(function() return lock:acquire(true, TINY) end):start()
    t:join()
    assert.is_false(t:result())
    lock:release()
  end)

  it("ends a Semaphore's acquire with false", function()
    assert.is_false(threading.Semaphore(0):acquire(true, TINY))
  end)

  it("ends a Condition's wait with false", function()
    local cv = threading.Condition()
    cv:acquire()
    assert.is_false(cv:wait(TINY))
    cv:release()
  end)

  it("ends a Queue's get with nil", function()
    assert.is_nil(threading.Queue():get(true, TINY))
  end)

  it("ends a full Queue's put with nil, \"full\"", function()
    local q = threading.Queue(1)
    q:put(1)
    local ok, why = q:put(2, true, TINY)
    assert.is_nil(ok)
    assert.equal("full", why)
    assert.equal(1, q:qsize())
  end)

  it("ends a Future's result with TimeoutError", function()
    local ex = threading.ThreadPoolExecutor(1)
    local go = threading.Event()
    local f = ex:submit(function(e) e:wait(30) end, go)
    local ok, err = pcall(f.result, f, TINY)
    assert.is_false(ok)
    assert.matches("TimeoutError", tostring(err))
    go:set()
    f:result(30)
    ex:shutdown()
  end)

  it("ends a Barrier's wait with BrokenBarrierError", function()
    local b = threading.Barrier(2)
    local ok, err = pcall(b.wait, b, TINY)
    assert.is_false(ok)
    assert.matches("BrokenBarrierError", tostring(err))
    assert.is_true(b.broken)
  end)

  it("ends a join with false while the thread runs", function()
    local go = threading.Event()
    local t = threading.Thread(function() go:wait(30) end):start()
    assert.is_false(t:join(TINY))
    go:set()
    assert.is_true(t:join(30))
  end)
end)
