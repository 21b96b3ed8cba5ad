-- ThreadPoolExecutor, as_completed and wait (contract section 2, "Executor
-- and futures"; Python's concurrent.futures).  Tasks that must wait for the
-- test are held by "gates": Queues the test puts into.
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_of
local assert_contains = helpers.assert_contains

local function count(set)
  local n = 0
  for _ in pairs(set) do n = n + 1 end
  return n
end

-- A task that waits until its gate is opened, then returns 'value'.
local function gated(gate, value)
  gate:get()
  return value
end

local interpreter, shell_quote, run_child = helpers.interpreter, helpers.shell_quote, helpers.run_child

describe("ThreadPoolExecutor", function()
  it("runs a submitted call in a worker and returns its results", function()
    local ex <close> = threading.ThreadPoolExecutor(2)
    local f = ex:submit(function(a, b, c) return a + b, c, threading.current_thread().name end, 1, 2, nil)
    local sum, c, name = f:result(10)
    assert.equal(3, sum)
    assert.is_nil(c)
    assert.matches("^ThreadPoolExecutor%-%d+_0$", name)
    assert.are_not.equal(threading.current_thread().name, name)
    assert.is_true(f:done())
  end)

  it("is reached through threading and through require", function()
    assert.equal(require("threading.executor").ThreadPoolExecutor, threading.ThreadPoolExecutor)
    assert.equal("FIRST_COMPLETED", threading.FIRST_COMPLETED)
    assert.equal("FIRST_EXCEPTION", threading.FIRST_EXCEPTION)
    assert.equal("ALL_COMPLETED", threading.ALL_COMPLETED)
  end)

  it("takes max_workers and thread_name_prefix", function()
    local ex = threading.ThreadPoolExecutor{max_workers = 2, thread_name_prefix = "pool"}
    local gate = threading.Queue()
    local fs = {}
    for i = 1, 6 do
      fs[i] = ex:submit(function(gate) gate:get() return threading.current_thread().name end, gate)
    end
    for _ = 1, 6 do gate:put(true) end
    local names = {}
    for i = 1, 6 do names[fs[i]:result(10)] = true end
    ex:shutdown()
    for name in pairs(names) do assert.matches("^pool_[01]$", name) end
    assert.is_true(count(names) <= 2)
    assert.matches("max_workers=2, threads=2, shutdown", tostring(ex))
  end)

  it("defaults max_workers to min(32, cpus + 4) and checks it", function()
    local ex = threading.ThreadPoolExecutor()
    assert.equal(math.min(32, threading._cpu_count() + 4), ex._max_workers)
    ex:shutdown()
    assert.is_true(threading._cpu_count() >= 1)
    assert_contains(error_of(threading.ThreadPoolExecutor, 0), "ValueError: max_workers must be greater than 0")
    assert_contains(error_of(threading.ThreadPoolExecutor, -1), "ValueError")
    assert_contains(error_of(threading.ThreadPoolExecutor, 1.5), "TypeError")
    assert_contains(error_of(threading.ThreadPoolExecutor, {thread_name_prefix = 3}), "TypeError")
  end)

  it("starts workers lazily and gives the default prefix a process-wide number", function()
    local a = threading.ThreadPoolExecutor(4)
    local b = threading.ThreadPoolExecutor(4)
    assert.equal(0, #a._threads)
    local na = a:submit(function() return threading.current_thread().name end):result(10)
    local nb = b:submit(function() return threading.current_thread().name end):result(10)
    local ida, idb = na:match("^ThreadPoolExecutor%-(%d+)_0$"), nb:match("^ThreadPoolExecutor%-(%d+)_0$")
    assert.is_truthy(ida and idb)
    assert.are_not.equal(ida, idb)
    assert.equal(1, #a._threads)
    a:shutdown()
    b:shutdown()
  end)

  it("copies arguments and refuses those that cannot cross", function()
    local ex <close> = threading.ThreadPoolExecutor(1)
    local t = {n = 1}
    local f = ex:submit(function(t) t.n = 2 return t end, t)
    assert.same({n = 2}, f:result(10))
    assert.equal(1, t.n)
    assert_contains(error_of(ex.submit, ex, print, 1, io.stdout), "args[2]: cannot send userdata")
    local file = io.stdout
    assert_contains(error_of(ex.submit, ex, function() return file end), "f<upvalue file>: cannot send userdata")
    assert_contains(error_of(ex.submit, ex, 42), "function expected")
  end)

  it("re-raises a task's error from result(), with the worker's traceback", function()
    local ex <close> = threading.ThreadPoolExecutor(1)
    local f = ex:submit(function() error("task failed") end)
    local err = error_of(f.result, f, 10)
    assert_contains(err, "task failed")
    assert_contains(err, "stack traceback:")
    local value, tb = f:exception()
    assert_contains(value, "task failed")
    assert_contains(tb, "stack traceback:")
    local g = ex:submit(function() error({code = 3}) end)
    assert.same({code = 3}, g:exception(10))
    local h = ex:submit(function() return io.stdout end) -- a result that cannot cross
    assert_contains(error_of(h.result, h, 10), "result: cannot send userdata")
  end)

  describe("map", function()
    it("yields results in input order", function()
      local ex <close> = threading.ThreadPoolExecutor(4)
      local out = {}
      for r in ex:map(function(x) threading.sleep((5 - x) * 0.002) return x * x end, {1, 2, 3, 4}) do
        out[#out + 1] = r
      end
      assert.same({1, 4, 9, 16}, out)
    end)

    it("re-raises a task's error where it occurs and cancels the rest", function()
      local ex <close> = threading.ThreadPoolExecutor(1)
      local gate, ran = threading.Queue(), threading.shared{n = 0}
      local lock = threading.Lock()
      local function task(x)
        lock:with(function() ran.n = ran.n + 1 end)
        if x == 2 then error("bad item 2") end
        if x == 3 then gate:get() end
        return x
      end
      local out = {}
      local err = error_of(function()
        for r in ex:map(task, {1, 2, 3, 4, 5, 6}) do out[#out + 1] = r end
      end)
      gate:put(true) -- item 3 may have started before the cancel
      assert_contains(err, "bad item 2")
      assert.same({1}, out)
      ex:shutdown()
      assert.is_true(ran.n <= 3, "tasks after the error were not cancelled: " .. ran.n)
    end)

    it("raises TimeoutError when results are late", function()
      local ex <close> = threading.ThreadPoolExecutor(1)
      local gate = threading.Queue()
      local err = error_of(function()
        for _ in ex:map(gated, {gate}, 0.05) do end
      end)
      gate:put(true)
      assert_contains(err, "TimeoutError")
    end)
  end)

  it("map's timeout cancels the tasks not started, the one waited for included", function()
    local ex = threading.ThreadPoolExecutor(1)
    local gate, ran = threading.Queue(), threading.shared{n = 0}
    local blocker = ex:submit(gated, gate, true) -- the only worker is busy
    local err = error_of(function()
      for _ in ex:map(function() ran.n = ran.n + 1 end, {1, 2, 3}, 0.05) do end
    end)
    assert_contains(err, "TimeoutError")
    gate:put(true)
    assert.equal(true, blocker:result())
    ex:shutdown()
    assert.equal(0, ran.n)
  end)

  describe("shutdown", function()
    it("waits for queued work, then refuses new work", function()
      local ex = threading.ThreadPoolExecutor(2)
      local fs = {}
      for i = 1, 10 do fs[i] = ex:submit(function(i) threading.sleep(0.001) return i end, i) end
      ex:shutdown()
      for i = 1, 10 do assert.is_true(fs[i]:done()) end
      assert_contains(error_of(ex.submit, ex, print), "RuntimeError: cannot schedule new futures after shutdown")
      ex:shutdown() -- twice is fine
    end)

    it("cancel_futures cancels what has not started", function()
      local ex = threading.ThreadPoolExecutor(1)
      local gate = threading.Queue()
      local first = ex:submit(gated, gate, "first")
      while not first:running() do threading.sleep(0.001) end
      local rest = {}
      for i = 1, 3 do rest[i] = ex:submit(gated, gate, i) end
      ex:shutdown(false, true)
      for i = 1, 3 do assert.is_true(rest[i]:cancelled()) end
      gate:put(true)
      assert.equal("first", first:result(10))
      ex:shutdown(true)
    end)

    it("happens at the end of a <close> scope", function()
      local f
      do
        local ex <close> = threading.ThreadPoolExecutor(1)
        f = ex:submit(function() threading.sleep(0.02) return "finished" end)
      end
      assert.is_true(f:done())
      assert.equal("finished", f:result(0))
    end)
  end)

  describe("is one object shared by reference", function()
    it("is the same executor in every thread, and works from any of them", function()
      local ex <close> = threading.ThreadPoolExecutor(2)
      local q = threading.Queue()
      q:put(ex)
      assert.equal(ex, q:get())
      local t = threading.Thread(function(ex)
        return ex:submit(function(x) return x * 2 end, 21):result(10), tostring(ex)
      end, ex):start()
      assert.is_true(t:join(10))
      local answer, text = t:result()
      assert.equal(42, answer)
      assert.matches("ThreadPoolExecutor%(max_workers=2", text)
    end)

    it("submit from several threads against shutdown loses no task: each runs or is refused", function()
      local ex = threading.ThreadPoolExecutor(3)
      local ran, refused = threading.shared{n = 0}, threading.shared{n = 0}
      local lock = threading.Lock()
      local go = threading.Event()
      local submitters = {}
      for i = 1, 3 do
        submitters[i] = threading.Thread(function(ex, ran, refused, lock, go)
          go:wait()
          local futures = {}
          for _ = 1, 200 do
            local ok, f = pcall(ex.submit, ex, function(ran, lock) lock:acquire() ran.n = ran.n + 1 lock:release() end,
                                ran, lock)
            if ok then futures[#futures + 1] = f
            else
              assert(tostring(f):find("cannot schedule new futures after shutdown"), f)
              lock:acquire() refused.n = refused.n + 1 lock:release()
            end
          end
          for _, f in ipairs(futures) do f:result(30) end
          return #futures
        end, ex, ran, refused, lock, go):start()
      end
      go:set()
      threading.sleep(0.001)
      ex:shutdown()
      local accepted = 0
      for _, t in ipairs(submitters) do
        assert.is_true(t:join(30))
        accepted = accepted + t:result()
      end
      assert.equal(600, accepted + refused.n)
      assert.equal(accepted, ran.n)
    end)

    it("ends its workers, without waiting, once the last reference goes", function()
      collectgarbage() collectgarbage()
      local live, alive = threading._live_objects(), threading.active_count()
      do
        local ex = threading.ThreadPoolExecutor(2)
        local gate = threading.Event()
        local f = ex:submit(function(gate) return gate:wait(10) end, gate)
        ex = nil
        collectgarbage() collectgarbage() -- its last box: the work is shut down, not waited for
        gate:set()
        assert.is_true(f:result(10)) -- queued and running tasks still finish
      end
      assert(helpers.settles_to(live), ("%d objects left alive"):format(threading._live_objects() - live))
      assert.equal(alive, threading.active_count())
    end)

    it("finishes the queued work at the end of the process, even collected", function()
      local out, ok = run_child([[
        local threading = require "threading"
        local ex = threading.ThreadPoolExecutor(1)
        for i = 1, 3 do ex:submit(function(i) threading.sleep(0.01) print("TASK", i) end, i) end
        ex = nil
        collectgarbage() collectgarbage()
        local other = threading.ThreadPoolExecutor(1) -- never shut down, never collected
        other:submit(function() threading.sleep(0.01) print("OTHER") end)
        print("MAIN END")
      ]])
      assert.is_true(ok, out)
      for i = 1, 3 do assert_contains(out, "TASK\t" .. i) end
      assert_contains(out, "OTHER")
      assert_contains(out, "MAIN END")
    end)
  end)

  it("reports a failed future nobody looked at", function()
    local out, ok = run_child([[
      local threading = require "threading"
      local ex = threading.ThreadPoolExecutor(1)
      ex:submit(function() error("unseen failure") end)
      ex:shutdown()
      collectgarbage()
      collectgarbage()
      print("end")
    ]])
    assert.is_true(ok, out)
    assert_contains(out, "Future exception was never retrieved")
    assert_contains(out, "unseen failure")
  end)
end)

describe("as_completed", function()
  it("yields futures as they complete", function()
    local ex <close> = threading.ThreadPoolExecutor(3)
    local gates = {threading.Queue(), threading.Queue(), threading.Queue()}
    local fs = {}
    for i = 1, 3 do fs[i] = ex:submit(gated, gates[i], i) end
    local order = {}
    local it = threading.as_completed(fs, 30)
    gates[2]:put(true)
    order[1] = it():result()
    gates[3]:put(true)
    order[2] = it():result()
    gates[1]:put(true)
    order[3] = it():result()
    assert.is_nil(it())
    assert.same({2, 3, 1}, order)
  end)

  it("keeps no reference to the futures it has yielded", function()
    local weak = setmetatable({}, {__mode = "k"})
    local later = threading.Future()
    local it = (function()
      local done, pending = threading.Future(), threading.Future()
      done:set_result(1)
      weak[done], weak[pending] = true, true
      later = pending
      return threading.as_completed({done, pending})
    end)()
    local function count() local n = 0 for _ in pairs(weak) do n = n + 1 end return n end
    it() -- the finished one
    collectgarbage(); collectgarbage()
    assert.equal(1, count()) -- only the pending one is left
    later:set_result(2)
    assert.equal(later, it())
    later = nil
    collectgarbage(); collectgarbage()
    assert.equal(0, count())
    assert.is_nil(it())
  end)

  it("yields finished futures first and each future once", function()
    local done = threading.Future()
    done:set_result("early")
    local later = threading.Future()
    local seen = {}
    local it = threading.as_completed({later, done, done})
    assert.equal(done, it())
    later:set_result("late")
    assert.equal(later, it())
    assert.is_nil(it())
    seen[done] = true
  end)

  it("raises TimeoutError naming the unfinished futures", function()
    local a, b = threading.Future(), threading.Future()
    b:set_result(1)
    local err = error_of(function()
      for f in threading.as_completed({a, b}, 0.05) do assert.equal(b, f) end
    end)
    assert_contains(err, "TimeoutError: 1 (of 2) futures unfinished")
  end)
end)

describe("wait", function()
  it("ALL_COMPLETED (the default) waits for every future", function()
    local ex <close> = threading.ThreadPoolExecutor(2)
    local fs = {}
    for i = 1, 4 do fs[i] = ex:submit(function(i) threading.sleep(0.005) return i end, i) end
    local done, not_done = threading.wait(fs)
    assert.equal(4, count(done))
    assert.equal(0, count(not_done))
    for i = 1, 4 do assert.is_true(done[fs[i]]) end
  end)

  it("FIRST_COMPLETED returns when one is done", function()
    local ex <close> = threading.ThreadPoolExecutor(2)
    local gate = threading.Queue()
    local slow = ex:submit(gated, gate, "slow")
    local fast = ex:submit(function() return "fast" end)
    local done, not_done = threading.wait({slow, fast}, 30, "FIRST_COMPLETED")
    assert.is_true(done[fast])
    assert.is_true(not_done[slow])
    gate:put(true)
  end)

  it("FIRST_EXCEPTION returns at the first failure, or when all are done", function()
    local ex <close> = threading.ThreadPoolExecutor(2)
    local gate = threading.Queue()
    local slow = ex:submit(gated, gate, "slow")
    local bad = ex:submit(function() error("first failure") end)
    local done, not_done = threading.wait({slow, bad}, 30, threading.FIRST_EXCEPTION)
    assert.is_true(done[bad])
    assert.is_true(not_done[slow])
    gate:put(true)
    local ok1 = ex:submit(function() return 1 end)
    local ok2 = ex:submit(function() return 2 end)
    done, not_done = threading.wait({ok1, ok2}, 30, "FIRST_EXCEPTION")
    assert.equal(2, count(done))
    assert.equal(0, count(not_done))
    assert_contains(bad:exception(), "first failure")
  end)

  it("returns what is done when the timeout expires", function()
    local pending, finished = threading.Future(), threading.Future()
    finished:set_result(1)
    local t0 = threading.monotonic()
    local done, not_done = threading.wait({pending, finished}, 0.05)
    assert.is_true(threading.monotonic() - t0 >= 0.04)
    assert.is_true(done[finished])
    assert.is_true(not_done[pending])
  end)

  it("counts cancelled futures as done", function()
    local f = threading.Future()
    f:cancel()
    local done = threading.wait({f}, 0)
    assert.is_true(done[f])
  end)

  it("rejects an unknown return_when", function()
    assert_contains(error_of(threading.wait, {}, nil, "SOMETIMES"), "ValueError: Invalid return condition")
  end)
end)
