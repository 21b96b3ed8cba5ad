-- Bad input sweep: every public function and method of threading called
-- with wrong types, missing arguments, NaN / negative / huge timeouts and
-- sizes, and objects of the wrong kind.  Each call must give a Lua error
-- with a clear message (it names the argument, the expected type or the
-- Python exception) -- never a crash, a hang (blocking calls get timeouts
-- of 0) or a silent success.  The cases are generated from tables.
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_of

local nan, inf = 0 / 0, math.huge

-- A message is clear if it says which argument or what was expected.
local CLEAR = {
  "bad argument #%d", "expected", "ValueError", "TypeError", "RuntimeError", "OverflowError",
  "cannot send", "TimeoutError", "InvalidStateError", "BrokenBarrierError", "must be",
}

local function is_clear(msg)
  for _, p in ipairs(CLEAR) do
    if msg:find(p) then return true end
  end
  return false
end

-- Calls f(...) and returns its error message; fails if f succeeds.

-- One object of every kind, made fresh for each use.
local makers = {
  Lock = function() return threading.Lock() end,
  RLock = function() return threading.RLock() end,
  Condition = function() return threading.Condition() end,
  Semaphore = function() return threading.Semaphore(1) end,
  BoundedSemaphore = function() return threading.BoundedSemaphore(1) end,
  Event = function() return threading.Event() end,
  Barrier = function() return threading.Barrier(2) end,
  Queue = function() return threading.Queue() end,
  SimpleQueue = function() return threading.SimpleQueue() end,
  Future = function() return threading.Future() end,
  Thread = function() return threading.Thread(function() end) end,
}

-- The C methods of each kind (those that take an object as self).
local methods = {
  Lock = {"acquire", "release", "locked", "with", "hold"},
  RLock = {"acquire", "release", "locked", "with", "hold"},
  Condition = {"acquire", "release", "wait", "wait_for", "notify", "notify_all", "with", "hold"},
  Semaphore = {"acquire", "release", "with", "hold"},
  BoundedSemaphore = {"acquire", "release", "with", "hold"},
  Event = {"set", "clear", "is_set", "wait"},
  Barrier = {"wait", "reset", "abort"},
  Queue = {"put", "put_nowait", "get", "get_nowait", "qsize", "empty", "full", "task_done",
           "join", "shutdown", "items"},
  SimpleQueue = {"put", "put_nowait", "get", "get_nowait", "qsize", "empty"},
  Future = {"result", "exception", "done", "running", "cancelled", "cancel",
            "add_done_callback"},
  Thread = {"start", "join", "is_alive", "result"},
}

-- Kinds whose methods are shared (same C struct): either is accepted.
local family = {
  Lock = "lock", RLock = "rlock", Condition = "cond",
  Semaphore = "sem", BoundedSemaphore = "sem",
  Queue = "queue", SimpleQueue = "queue",
}

local function same_family(a, b)
  return a == b or (family[a] ~= nil and family[a] == family[b])
end

local kinds = {}
for kind in pairs(makers) do kinds[#kinds + 1] = kind end
table.sort(kinds)

describe("bad input", function()
  describe("a method called on the wrong self", function()
    -- Lock.acquire(queue), Queue.get(lock), Event.wait(42), ...
    for _, kind in ipairs(kinds) do
      it("is refused by every method of " .. kind, function()
        local proto = makers[kind]()
        for _, name in ipairs(methods[kind]) do
          local method = proto[name]
          assert.is_function(method, kind .. "." .. name)
          for _, other in ipairs(kinds) do
            if not same_family(kind, other) then
              -- with/hold are generic (they call self's own acquire and
              -- release, so any lock-like object works): not checked.
              -- Reported: with a Queue as self they say "attempt to call
              -- a nil value" (context.c).
              if name ~= "with" and name ~= "hold" then
                local msg = error_of(method, makers[other](), function() end)
                assert.matches("bad argument #1", msg, 1, true)
                assert.matches("expected, got threading." .. other, msg, 1, true)
              end
            end
          end
          -- (with/hold check their function argument first: give one)
          for _, wrong in ipairs({42, "s", {}, true, print}) do
            local msg = error_of(method, wrong, function() end)
            assert.matches("bad argument #1.*expected, got " .. type(wrong), msg)
          end
          assert.matches("expected, got nil", error_of(method, nil, function() end), 1, true)
          if name ~= "with" then
            assert.matches("expected, got no value", error_of(method), 1, true)
          end
        end
      end)
    end
  end)

  -- Timeouts: the same rules for every call that takes one (Python's).
  -- Each entry: label, a function (obj, timeout) that makes one call on a
  -- fresh object that would block, and how a negative timeout behaves.
  local timed = {
    {"Lock:acquire", function(t)
      local l = threading.Lock() l:acquire() return l:acquire(true, t) end, "ValueError"},
    {"RLock:acquire", function(t)
      local l = threading.RLock()
      local th = threading.Thread(function() l:acquire() end) th:start() th:join()
      return l:acquire(true, t) end, "ValueError"},
    {"Semaphore:acquire", function(t) return threading.Semaphore(0):acquire(true, t) end, false},
    {"Condition:wait", function(t)
      local c = threading.Condition() c:acquire()
      local r = table.pack(pcall(c.wait, c, t)) c:release()
      if not r[1] then error(r[2], 0) end return r[2] end, false},
    {"Condition:wait_for", function(t)
      local c = threading.Condition() c:acquire()
      local r = table.pack(pcall(c.wait_for, c, function() return false end, t)) c:release()
      if not r[1] then error(r[2], 0) end return r[2] end, false},
    {"Event:wait", function(t) return threading.Event():wait(t) end, false},
    {"Queue:get", function(t) return threading.Queue():get(true, t) end, "ValueError"},
    {"Queue:put", function(t)
      local q = threading.Queue(1) q:put(1) return q:put(2, true, t) end, "ValueError"},
    {"SimpleQueue:get", function(t) return threading.SimpleQueue():get(true, t) end, "ValueError"},
    {"Queue:join", function(t)
      local q = threading.Queue() q:put(1) return q:join(t) end, false},
    {"Future:result", function(t) return threading.Future():result(t) end, "TimeoutError"},
    {"Future:exception", function(t) return threading.Future():exception(t) end, "TimeoutError"},
    {"Barrier:wait", function(t) return threading.Barrier(2):wait(t) end, "BrokenBarrierError"},
    {"Thread:join", function(t)
      local go = threading.Event()
      local th = threading.Thread(function() go:wait() end) th:start()
      local r = table.pack(pcall(th.join, th, t)) go:set() th:join()
      if not r[1] then error(r[2], 0) end return r[2] end, false},
  }

  describe("timeouts", function()
    for _, case in ipairs(timed) do
      local label, call, negative = case[1], case[2], case[3]
      it(label .. " refuses a NaN, a string or a table as timeout", function()
        assert.matches("NaN", error_of(call, nan), 1, true)
        assert.matches("number expected, got string", error_of(call, "soon"), 1, true)
        assert.matches("number expected, got table", error_of(call, {}), 1, true)
      end)
      -- (-1 is "forever" for Lock/RLock:acquire as in Python: use -5)
      it(label .. " with a negative timeout does not block", function()
        local t0 = threading.monotonic()
        if negative then
          assert.matches(negative, error_of(call, -5), 1, true)
        else
          assert.is_falsy(call(-5))
        end
        assert.is_true(threading.monotonic() - t0 < 5)
      end)
      it(label .. " times out after 0 seconds", function()
        local t0 = threading.monotonic()
        local ok, r = pcall(call, 0)
        -- false, or nil plus "empty"/"full" for the queues
        if ok then assert.is_falsy(r) else assert.is_true(is_clear(r), r) end
        assert.is_true(threading.monotonic() - t0 < 5)
      end)
    end
  end)

  it("a timeout past TIMEOUT_MAX is an OverflowError, at once for a lock, else when it would wait", function()
    assert.equal(9223372036.0, threading.TIMEOUT_MAX)
    for _, t in ipairs({1e300, inf, math.maxinteger, threading.TIMEOUT_MAX * 2}) do
      assert.matches("OverflowError: timeout value is too large", error_of(threading.Lock().acquire, threading.Lock(), true, t))
      assert.matches("OverflowError: timeout value is too large", error_of(threading.RLock().acquire, threading.RLock(), true, t))
      assert.matches("OverflowError", error_of(threading.Event().wait, threading.Event(), t))
      assert.matches("OverflowError", error_of(threading.Semaphore(0).acquire, threading.Semaphore(0), true, t))
      assert.matches("OverflowError", error_of(threading.Queue().get, threading.Queue(), true, t))
      assert.matches("OverflowError", error_of(threading.Future().result, threading.Future(), t))
      assert.matches("OverflowError", error_of(threading.sleep, t))
      local c = threading.Condition()
      c:acquire()
      assert.matches("OverflowError", error_of(c.wait, c, t))
      assert.equal(1, c.lock:_recursion_count()) -- the lock is taken back, as in Python
      c:release()
      local b = threading.Barrier(2)
      assert.matches("OverflowError", error_of(b.wait, b, t))
      assert.is_false(b.broken) -- left without breaking it, as in Python
    end
    assert.is_true(threading.Lock():acquire(true, threading.TIMEOUT_MAX))
  end)

  it("a huge timeout is accepted when the call need not wait (as Python's)", function()
    for _, t in ipairs({1e300, inf, math.maxinteger}) do
      local e = threading.Event() e:set()
      assert.is_true(e:wait(t))
      assert.is_true(threading.Semaphore(1):acquire(true, t))
      local q = threading.Queue() q:put("x")
      assert.equal("x", q:get(true, t))
      local f = threading.Future() f:set_result(7)
      assert.equal(7, f:result(t))
    end
  end)

  it("a timeout on a non-blocking call is a ValueError", function()
    assert.matches("ValueError", error_of(threading.Lock().acquire, threading.Lock(), false, 1))
    assert.matches("ValueError",
                   error_of(threading.Semaphore().acquire, threading.Semaphore(), false, 1))
  end)

  it("the table form of constructors takes a name, refuses other types and unknown fields", function()
    local makers = {Lock = {}, RLock = {}, Condition = {}, Semaphore = {value = 2},
                    BoundedSemaphore = {value = 2}, Event = {}, Barrier = {parties = 2}, Queue = {maxsize = 3},
                    LifoQueue = {}, PriorityQueue = {}, SimpleQueue = {}}
    for kind, fields in pairs(makers) do
      local spec = {name = "n"}
      for k, v in pairs(fields) do spec[k] = v end
      assert.is_true((pcall(threading[kind], spec)), kind)
      local msg = error_of(threading[kind], {name = 42})
      assert.truthy(msg:find("string expected for field 'name', got number", 1, true), kind .. ": " .. msg)
      if not kind:find("Queue") then -- (a queue ignores other fields, as it always has)
        msg = error_of(threading[kind], {nmae = "typo"})
        assert.truthy(msg:find("unknown field 'nmae'", 1, true), kind .. ": " .. msg)
      end
    end
  end)

  -- Constructors and functions with a size or count: every wrong value.
  -- ok = values that are accepted (Python accepts them too).
  local sized = {
    {"Semaphore", threading.Semaphore, ok = {0, 3}, table_ok = true}, -- Semaphore{value =, name =}
    {"BoundedSemaphore", threading.BoundedSemaphore, ok = {0, 3}, table_ok = true},
    {"Barrier", threading.Barrier, ok = {1, 3}},
    -- (the queues take an options table too: {} is Queue{})
    {"Queue", threading.Queue, ok = {0, -1, 5}, table_ok = true},
    {"PriorityQueue", threading.PriorityQueue, ok = {0, -1, 5}, table_ok = true},
    {"LifoQueue", threading.LifoQueue, ok = {0, -1, 5}, table_ok = true},
    {"stack_size", threading.stack_size, ok = {0}},
    -- (huge or positive values would really sleep: not tried)
    {"sleep", threading.sleep, ok = {0}, bad = {"three", {}, true, nan, -1}},
    {"setswitchinterval", threading.setswitchinterval, ok = {2.5, 9e9, 0.005}, -- (the default last)
     bad = {"three", {}, true, nan, -1, 0, 1e10, 1e300, inf}},
    {"Timer", function(n) return threading.Timer(n, function() end) end, ok = {1, 2.5, 1e300}},
  }
  local bad_sizes = {"three", {}, true, nan, 1e300, -1, 2.5}

  describe("sizes and counts", function()
    for _, case in ipairs(sized) do
      it(case[1] .. " refuses wrong values clearly", function()
        for _, v in ipairs(case.bad or bad_sizes) do
          local accepted = case.table_ok and type(v) == "table"
          for _, good in ipairs(case.ok) do
            if good == v then accepted = true end
          end
          local ok, err = pcall(case[2], v)
          if not ok then
            assert.is_true(is_clear(tostring(err)),
                           case[1] .. "(" .. tostring(v) .. "): " .. tostring(err))
          else
            assert.is_true(accepted, case[1] .. "(" .. tostring(v) .. ") was accepted")
          end
        end
        for _, good in ipairs(case.ok) do
          assert.is_true((pcall(case[2], good)), case[1] .. "(" .. tostring(good) .. ")")
        end
      end)
    end
    it("ThreadPoolExecutor refuses bad max_workers", function()
      for _, v in ipairs({0, -1, "x", nan, 2.5, {max_workers = "x"}, {max_workers = 0}}) do
        local msg = error_of(threading.ThreadPoolExecutor, v)
        assert.is_true(msg:find("ValueError") ~= nil or msg:find("TypeError") ~= nil, msg)
      end
    end)
  end)

  -- Individual misuses: {label, function, pattern the message must match}.
  local misuse = {
    {"Lock:release unlocked", function() threading.Lock():release() end, "RuntimeError"},
    {"RLock:release unowned", function() threading.RLock():release() end, "RuntimeError"},
    {"Lock:with a number", function() threading.Lock():with(42) end, "bad argument #1"},
    {"Lock:acquire(blocking='x')", function() threading.Lock():acquire("x") end,
     "boolean expected"},
    {"Condition(a Queue)", function() threading.Condition(threading.Queue()) end,
     "Lock or RLock expected"},
    {"Condition(a string)", function() threading.Condition("lock") end, "Lock or RLock expected"},
    {"Condition:wait unowned", function() threading.Condition():wait(0) end, "RuntimeError"},
    {"Condition:notify unowned", function() threading.Condition():notify() end, "RuntimeError"},
    {"Condition:notify_all unowned", function() threading.Condition():notify_all() end,
     "RuntimeError"},
    {"Condition:notify('x')", function()
      local c = threading.Condition() c:acquire()
      local ok, e = pcall(c.notify, c, "x") c:release() error(e, 0) end, "number expected"},
    {"Semaphore:release(0)", function() threading.Semaphore(0):release(0) end, "ValueError"},
    {"Semaphore:release(-1)", function() threading.Semaphore(0):release(-1) end, "ValueError"},
    {"Semaphore:release('x')", function() threading.Semaphore(0):release("x") end,
     "number expected"},
    {"Semaphore:release(maxinteger)", function()
      local s = threading.Semaphore(1) s:release(math.maxinteger) end, "OverflowError"},
    {"BoundedSemaphore over-release", function() threading.BoundedSemaphore(1):release() end,
     "ValueError: Semaphore released too many times"},
    {"Barrier(2, 5)", function() threading.Barrier(2, 5) end, "function expected"},
    {"Barrier(2, nil, 'x')", function() threading.Barrier(2, nil, "x") end, "number expected"},
    {"Barrier:wait('x')", function() threading.Barrier(1):wait("x") end, "number expected"},
    {"Queue:put(nil)", function() threading.Queue():put(nil) end, "ValueError"},
    {"Queue:put(a coroutine)", function() threading.Queue():put(coroutine.create(print)) end,
     "item: cannot send coroutine"},
    {"Queue:put(io.stdout)", function() threading.Queue():put({io.stdout}) end,
     "item%[1%]: cannot send userdata"},
    {"Queue:put(1, 'x')", function() threading.Queue():put(1, "x") end, "boolean expected"},
    {"Queue:get('x')", function() threading.Queue():get("x") end, "boolean expected"},
    {"Queue:put_nowait on a full queue", function()
      local q = threading.Queue(1) q:put(1) local r, why = q:put_nowait(2)
      assert(r == nil and why == "full") error("RuntimeError: (as expected: nil, full)") end,
     "as expected"},
    {"Queue:task_done too many", function() threading.Queue():task_done() end,
     "ValueError: task_done%(%) called too many times"},
    {"Queue:put after shutdown", function()
      local q = threading.Queue() q:shutdown() q:put(1) end, "ShutDown"},
    {"PriorityQueue:put({})", function() threading.PriorityQueue():put({}) end, "TypeError"},
    {"PriorityQueue:put(NaN)", function() threading.PriorityQueue():put(nan) end, "ValueError"},
    {"PriorityQueue:put({NaN})", function() threading.PriorityQueue():put({nan, 1}) end,
     "ValueError"},
    {"PriorityQueue:put(true)", function() threading.PriorityQueue():put(true) end, "TypeError"},
    {"PriorityQueue mixed priorities", function()
      local q = threading.PriorityQueue() q:put(1) q:put("a") end, "TypeError"},
    {"Thread()", function() threading.Thread() end, "bad argument #1"},
    {"Thread(42)", function() threading.Thread(42) end, "function or table expected"},
    {"Thread{target=42}", function() threading.Thread{target = 42} end, "target"},
    {"Thread{args=42}", function() threading.Thread{target = print, args = 42} end, "args"},
    {"Thread{name={}}", function() threading.Thread{target = print, name = {}} end, "name"},
    {"Thread{memory_limit=-1}", function()
      threading.Thread{target = print, memory_limit = -1} end, "memory_limit"},
    {"Thread{memory_limit='x'}", function()
      threading.Thread{target = print, memory_limit = "x"} end, "memory_limit"},
    {"Thread(f, a coroutine)", function() threading.Thread(print, coroutine.create(print)) end,
     "args%[1%]: cannot send coroutine"},
    {"Thread:join before start", function() threading.Thread(print):join(0) end,
     "RuntimeError"},
    {"Thread:start twice", function()
      local t = threading.Thread(function() end) t:start() t:join() t:start() end,
     "RuntimeError: threads can only be started once"},
    {"Thread:join current", function() threading.current_thread():join(0) end, "RuntimeError"},
    {"Thread:result before the end", function() threading.Thread(print):result() end,
     "RuntimeError"},
    {"Thread.daemon after start", function()
      local t = threading.Thread(function() end) t:start() t:join() t.daemon = true end,
     "RuntimeError"},
    {"Thread.unknown = 1", function() threading.Thread(print).unknown = 1 end, "unknown"},
    {"Timer('x', f)", function() threading.Timer("x", print) end, "number expected"},
    {"Timer(1, 42)", function() threading.Timer(1, 42) end, "bad argument #2"},
    {"sleep()", function() threading.sleep() end, "number expected, got no value"},
    {"sleep(-1)", function() threading.sleep(-1) end, "ValueError"},
    {"stack_size(100)", function() threading.stack_size(100) end, "ValueError"},
    {"set_gil()", function() threading.set_gil() end, "bad argument #1"},
    {"setswitchinterval(0)", function() threading.setswitchinterval(0) end, "ValueError"},
    {"shared(42)", function() threading.shared(42) end, "table expected"},
    {"shared{coroutine}", function() threading.shared{coroutine.create(print)} end,
     "cannot send coroutine"},
    {"shared[nil] = 1", function() threading.shared()[nil] = 1 end, "nil"},
    {"shared[NaN] = 1", function() threading.shared()[nan] = 1 end, "NaN"},
    {"shared[{}] = 1", function() threading.shared()[{}] = 1 end, "keys must be"},
    {"shared.x = coroutine", function() threading.shared().x = coroutine.create(print) end,
     "cannot send coroutine"},
    {"atomic.add({}, 'n')", function() threading.atomic.add({}, "n") end, "shared expected"},
    {"atomic.add(s)", function() threading.atomic.add(threading.shared()) end, "bad argument #2"},
    {"atomic.add(s, 'n', 'x')", function() threading.atomic.add(threading.shared(), "n", "x") end,
     "number expected"},
    {"atomic.add on a string", function() threading.atomic.add(threading.shared{n = "x"}, "n") end,
     "TypeError"},
    {"atomic.update(s, 'n')", function() threading.atomic.update(threading.shared(), "n") end,
     "function expected"},
    {"atomic.update(s, NaN, f)", function() threading.atomic.update(threading.shared(), nan, print) end,
     "NaN"},
    {"atomic.update returning a coroutine", function()
      threading.atomic.update(threading.shared(), "n", function() return coroutine.create(print) end) end,
     "cannot send coroutine"},
    {"atomic.compare_and_set(s, 'n', {}, 1)", function()
      threading.atomic.compare_and_set(threading.shared(), "n", {}, 1) end, "bad argument #3"},
    {"atomic.compare_and_set(s, 'n', 1)", function()
      threading.atomic.compare_and_set(threading.shared(), "n", 1) end, "bad argument #4"},
    {"Future:set_result twice", function()
      local f = threading.Future() f:set_result(1) f:set_result(2) end, "InvalidStateError"},
    {"Future:set_result(coroutine)", function()
      threading.Future():set_result(coroutine.create(print)) end, "cannot send coroutine"},
    {"Future:result(0) pending", function() threading.Future():result(0) end, "TimeoutError"},
    {"ThreadPoolExecutor{thread_name_prefix={}}", function()
      local ex = threading.ThreadPoolExecutor{thread_name_prefix = {}} ex:shutdown() end,
     "TypeError"},
    {"executor:submit(42)", function()
      local ex <close> = threading.ThreadPoolExecutor(1) ex:submit(42) end, "function expected"},
    {"executor:submit(f, coroutine)", function()
      local ex <close> = threading.ThreadPoolExecutor(1)
      ex:submit(print, coroutine.create(print)) end, "cannot send coroutine"},
    {"executor:submit after shutdown", function()
      local ex = threading.ThreadPoolExecutor(1) ex:shutdown() ex:submit(print) end,
     "RuntimeError"},
    {"as_completed(42)", function() for _ in threading.as_completed(42) do end end,
     "table of futures expected"},
    {"as_completed(fs, 'x')", function()
      for _ in threading.as_completed({threading.Future()}, "x") do end end, "TypeError"},
    {"wait(42)", function() threading.wait(42) end, "table of futures expected"},
    {"wait(fs, 0, 'BOGUS')", function() threading.wait({threading.Future()}, 0, "BOGUS") end,
     "ValueError"},
    {"wait(fs, 'x')", function() threading.wait({threading.Future()}, "x") end, "TypeError"},
    {"log.basicConfig(42)", function() threading.log.basicConfig(42) end, "table expected"},
    {"log.basicConfig{level='BOGUS'}", function()
      threading.log.basicConfig{level = "BOGUS"} end, "ValueError"},
    {"log.basicConfig{format='%(bogus)s'}", function()
      threading.log.basicConfig{format = "%(bogus)s"} end, "ValueError"},
    {"excepthook = 42", function() threading.excepthook = 42 end, "function expected"},
  }

  describe("misuse", function()
    for _, case in ipairs(misuse) do
      it(case[1] .. " gives a clear error", function()
        assert.matches(case[3], error_of(case[2]))
      end)
    end
  end)

  -- Calls whose error used to be unclear (reported by this sweep, since fixed).
  local formerly_unclear = {
    {"Condition:wait_for(42)", function()
      local c = threading.Condition() c:acquire()
      local ok, e = pcall(c.wait_for, c, 42, 0) c:release() error(e, 0) end, "function expected, got number"},
    {"Condition:notify(-1)", function()
      local c = threading.Condition() c:acquire()
      local ok, e = pcall(c.notify, c, -1) c:release() error(e, 0) end, "ValueError"},
    {"executor:map(f, 42)", function()
      local ex <close> = threading.ThreadPoolExecutor(1) ex:map(print, 42) end, "table expected, got number"},
    {"executor.submit(a Lock, f)", function()
      local ex <close> = threading.ThreadPoolExecutor(1) ex.submit(threading.Lock(), print) end,
     "ThreadPoolExecutor expected, got threading.Lock"},
    {"as_completed({42})", function() for _ in threading.as_completed({42}) do end end,
     "item 1 is number"},
    {"as_completed({a Lock})", function()
      for _ in threading.as_completed({threading.Lock()}) do end end, "item 1 is threading.Lock"},
    {"wait({a Lock})", function() threading.wait({threading.Lock()}) end, "item 1 is threading.Lock"},
    {"as_completed(fs, NaN)", function()
      for _ in threading.as_completed({threading.Future()}, 0 / 0) do end end, "NaN"},
    {"Future:add_done_callback(42)", function() threading.Future():add_done_callback(42) end,
     "function expected, got number"},
    {"log.basicConfig{format={}}", function() threading.log.basicConfig{format = {}} end,
     "format must be a string"},
    {"log.getLogger({})", function() threading.log.getLogger({}) end, "name must be a string"},
    {"Queue{maxsize='x'}", function() threading.Queue{maxsize = "x"} end,
     "integer expected for field 'maxsize'"},
    {"Lock.with(a Queue, f)", function() threading.Lock().with(threading.Queue(), print) end,
     "lock%-like object"},
  }

  describe("formerly unclear messages", function()
    for _, case in ipairs(formerly_unclear) do
      it(case[1] .. " gives a clear error", function()
        assert.matches(case[3], error_of(case[2]))
      end)
    end
  end)

  it("a kind's __index called by hand on another kind's box leaves both working", function()
    local q, lock = threading.Queue(), threading.Lock()
    local index = getmetatable(q).__index
    for _ = 1, 40 do index(lock, "put") end -- as many lookups as make a box busy
    assert.is_true(lock:acquire())
    lock:release()
    assert.is_nil(lock.put)
    for i = 1, 40 do q:put(i); q:get() end
    assert.equal(0, q.maxsize)
  end)

  it("leaves no thread behind", function()
    assert.equal(1, threading.active_count())
  end)
end)
