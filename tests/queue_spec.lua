-- Queues: Queue, LifoQueue, PriorityQueue, SimpleQueue (contract section 2,
-- "Queues"; Python's queue module with 3.13's shutdown).
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_of
local assert_contains = helpers.assert_contains
local spawn = helpers.spawn
local finish = helpers.finish

-- Waits (bounded) until pred() holds: for states another thread reaches
-- while blocked, which no primitive can report.
local function eventually(pred)
  local deadline = threading.monotonic() + 10
  while not pred() do
    assert(threading.monotonic() < deadline, "condition not reached in 10 s")
    threading.sleep(0.001)
  end
end

describe("Queue", function()
  it("is first in, first out and counts its items", function()
    local q = threading.Queue()
    assert.is_true(q:empty())
    for i = 1, 5 do assert.is_true(q:put(i)) end
    assert.equal(5, q:qsize())
    assert.is_false(q:empty())
    assert.is_false(q:full()) -- unbounded
    for i = 1, 5 do assert.equal(i, q:get()) end
    assert.is_true(q:empty())
  end)

  -- Growing doubles the ring in place and moves the items whose position
  -- now falls in the upper half (queue_items.c): grow it with the oldest
  -- item at every offset, on both sides of a doubling, and check the order.
  it("keeps its order when it grows with its oldest item anywhere in the ring", function()
    for _, kind in ipairs{"Queue", "SimpleQueue", "PriorityQueue"} do
      local q = threading[kind]()
      local put, got = 0, 0
      for round = 1, 300 do
        for _ = 1, round % 37 + 3 do put = put + 1; q:put(put) end
        for _ = 1, round % 23 + 1 do
          got = got + 1
          assert.equal(got, q:get_nowait(), kind .. ", round " .. round)
        end
      end
      assert.equal(put - got, q:qsize(), kind)
      while got < put do got = got + 1; assert.equal(got, q:get_nowait(), kind) end
      assert.is_true(q:empty(), kind)
    end
  end)

  it("copies items in and out, keeping tables, functions and objects", function()
    local q = threading.Queue()
    local t = {1, "two", nested = {x = 1.5}}
    q:put(t)
    t.nested.x = 99 -- changing the original after put changes nothing
    local got = q:get()
    assert.are_not.equal(t, got)
    assert.same({1, "two", nested = {x = 1.5}}, got)
    q:put(function(a) return a * 2 end)
    assert.equal(42, q:get()(21))
    local inner = threading.Queue()
    q:put(inner)
    assert.equal(inner, q:get()) -- threading objects go by reference
    q:put(false)
    assert.is_false(q:get())
    q:put(math.maxinteger)
    assert.equal(math.maxinteger, q:get())
    assert.equal("integer", math.type((function() q:put(3) return q:get() end)()))
  end)

  it("keeps numbers' subtypes and booleans (stored in the queue itself), in order with other items", function()
    local q = threading.Queue()
    local items = {1, 1.0, -0.0, math.mininteger, math.huge, true, false, "3", 2^53, {4}}
    for _, v in ipairs(items) do q:put(v) end
    local nan = 0/0
    q:put(nan)
    local out = {}
    for i, v in ipairs(items) do
      out[i] = q:get()
      if type(v) == "table" then
        assert.same(v, out[i])
      else
        assert.equal(v, out[i])
        assert.equal(math.type(v), math.type(out[i]))
      end
    end
    assert.equal("string", type(out[8])) -- "3" stays a string
    assert.equal(-math.huge, 1 / out[3]) -- -0.0 keeps its sign
    local got = q:get()
    assert.is_true(got ~= got) -- NaN
    local p = threading.PriorityQueue()
    for _, v in ipairs{3, 1.5, 2, -1} do p:put(v) end
    assert.same({-1, 1.5, 2, 3}, {p:get(), p:get(), p:get(), p:get()})
    assert.equal("float", math.type((function() p:put(2.0) return p:get() end)()))
  end)

  it("copies strings of every length, inside the item or not, in every kind", function()
    local strs = {"", "a", ("x"):rep(15), ("y"):rep(16), ("z"):rep(17), "nul\0inside\0more-than-16",
                  ("long"):rep(1000)}
    for _, kind in ipairs{"Queue", "LifoQueue", "SimpleQueue"} do
      local q = threading[kind]()
      for _, v in ipairs(strs) do q:put(v) end
      local out = {}
      for i = 1, #strs do out[i] = q:get() end
      if kind == "LifoQueue" then
        for i = 1, #out // 2 do out[i], out[#out + 1 - i] = out[#out + 1 - i], out[i] end
      end
      assert.same(strs, out)
    end
    -- priorities read from long and short strings, the items' own or a table's [1]
    local p = threading.PriorityQueue()
    for _, v in ipairs{("b"):rep(40), ("a"):rep(40) .. "b", ("a"):rep(40), "a", ("a"):rep(16)} do p:put(v) end
    assert.same({"a", ("a"):rep(16), ("a"):rep(40), ("a"):rep(40) .. "b", ("b"):rep(40)},
                {p:get(), p:get(), p:get(), p:get(), p:get()})
    p:put({("k"):rep(30) .. "2", "two"})
    p:put({("k"):rep(30) .. "1", "one"})
    assert.equal("one", p:get()[2])
    assert.equal("two", p:get()[2])
    -- left in a queue that is collected: freed (checked by the sanitizer builds)
    local left = threading.PriorityQueue()
    left:put({("k"):rep(30), {}})
    left:put(("s"):rep(30))
    left = nil
    collectgarbage()
  end)

  it("refuses nil and values that cannot cross", function()
    local q = threading.Queue()
    assert_contains(error_of(q.put, q, nil), "ValueError: cannot put nil into a Queue")
    assert_contains(error_of(q.put, q), "ValueError: cannot put nil")
    assert_contains(error_of(q.put, q, {conn = io.stdout}), "item.conn: cannot send userdata")
    assert_contains(error_of(q.put, q, coroutine.create(print)), "item: cannot send")
    assert.equal(0, q:qsize())
  end)

  it("bounds its size with maxsize", function()
    local q = threading.Queue(2)
    assert.equal(2, q.maxsize)
    assert.is_true(q:put("a"))
    assert.is_true(q:put_nowait("b"))
    assert.is_true(q:full())
    local ok, why = q:put("c", false)
    assert.is_nil(ok)
    assert.equal("full", why)
    assert.same({nil, "full"}, {q:put_nowait("c")})
    assert.equal("a", q:get())
    assert.is_false(q:full())
    assert.equal(0, threading.Queue(0).maxsize)
    assert.equal(0, threading.Queue(-3).maxsize)
    assert.equal(7, threading.Queue{maxsize = 7}.maxsize)
    assert.has_error(function() threading.Queue("big") end)
  end)

  it("get returns nil, 'empty' without blocking or after the timeout", function()
    local q = threading.Queue()
    assert.same({nil, "empty"}, {q:get(false)})
    assert.same({nil, "empty"}, {q:get_nowait()})
    local t0 = threading.monotonic()
    assert.same({nil, "empty"}, {q:get(true, 0.05)})
    assert.is_true(threading.monotonic() - t0 >= 0.04)
    assert.same({nil, "empty"}, {q:get(true, 0)})
    assert.same({nil, "empty"}, {q:get(false, 5)}) -- a non-blocking call ignores the timeout
  end)

  it("put times out on a full queue", function()
    local q = threading.Queue(1)
    q:put(1)
    local t0 = threading.monotonic()
    assert.same({nil, "full"}, {q:put(2, true, 0.05)})
    assert.is_true(threading.monotonic() - t0 >= 0.04)
    assert.equal(1, q:qsize())
  end)

  it("checks its arguments as Python does", function()
    local q = threading.Queue()
    assert_contains(error_of(q.get, q, true, -1), "ValueError: 'timeout' must be a non-negative number")
    assert_contains(error_of(q.put, q, 1, true, -0.5), "ValueError: 'timeout' must be a non-negative number")
    assert.has_error(function() q:get("yes") end)
    assert.has_error(function() q.get(threading.Lock()) end)
    assert.has_error(function() q.get({}) end)
  end)

  it("a blocked get is woken by a put in another thread", function()
    local q, back = threading.Queue(), threading.Queue()
    local t = spawn(function(q, back)
      back:put("waiting")
      return q:get()
    end, q, back)
    assert.equal("waiting", back:get())
    threading.sleep(0.01) -- lets it block (the result is the same if it has not yet)
    q:put({answer = 42})
    assert.same({answer = 42}, finish(t))
  end)

  it("a blocked put is woken by a get in another thread", function()
    local q = threading.Queue(1)
    q:put("first")
    local t = spawn(function(q) return q:put("second") end, q)
    eventually(function() return t:is_alive() end)
    threading.sleep(0.01)
    assert.equal("first", q:get())
    assert.is_true(finish(t))
    assert.equal("second", q:get())
  end)

  it("many blocked getters each get one item", function()
    local q, results = threading.Queue(), threading.Queue()
    local ts = {}
    for i = 1, 4 do ts[i] = spawn(function(q, results) results:put(q:get()) end, q, results) end
    for i = 1, 4 do q:put(i) end
    for i = 1, 4 do finish(ts[i]) end
    local seen = {}
    for _ = 1, 4 do seen[results:get()] = true end
    assert.same({true, true, true, true}, seen)
  end)

  -- Runs f(mod, name) with 'mod' in package.loaded as 'name': a table there
  -- crosses by name and the receiver requires it, and one put there by hand
  -- exists in this state only, so decoding it in a thread fails.
  local function with_unrequirable_module(name, f)
    local mod = {answer = 42}
    package.loaded[name] = mod
    local ok, err = pcall(f, mod, name)
    package.loaded[name] = nil
    assert(ok, err)
  end

  it("keeps an item a getter cannot receive: the get raises, the item stays where it was", function()
    with_unrequirable_module("queue_spec_unrequirable_module", function(mod, name)
      local cases = {
        {threading.Queue(), {{m = mod}, "after"}, {"m", "after"}},          -- the front again
        {threading.LifoQueue(), {"below", {m = mod}}, {"m", "below"}},      -- the top again
        {threading.PriorityQueue(), {{2, "later"}, {1, mod}}, {1, 2}},       -- first in order again
      }
      for _, case in ipairs(cases) do
        local q, puts, order = case[1], case[2], case[3]
        for _, v in ipairs(puts) do q:put(v) end
        local got_ok, got_err = finish(spawn(function(q)
          local ok, e = pcall(q.get, q, false)
          return ok, tostring(e)
        end, q))
        assert.is_false(got_ok)
        assert_contains(got_err, name)
        assert.equal(2, q:qsize())
        assert.equal(2, q.unfinished_tasks)
        for _, want in ipairs(order) do
          local v = q:get(false)
          if want == "m" then assert.equal(mod, v.m)
          elseif type(want) == "number" then assert.equal(want, v[1])
          else assert.equal(want, v) end
          q:task_done()
        end
        assert.is_true(q:empty())
        assert.is_true(q:join(1))
      end
    end)
  end)

  it("puts an undeliverable item back at the front of a Queue, full ring or not, then takes puts after it", function()
    with_unrequirable_module("queue_spec_unrequirable_module_2", function(mod)
      for _, n in ipairs{0, 14, 15, 16, 31, 33} do -- (a ring starts with 16 slots, then doubles)
        local q = threading.Queue()
        q:put({m = mod})
        for i = 1, n do q:put(i) end
        local got_ok = finish(spawn(function(q) return (pcall(q.get, q, false)) end, q))
        assert.is_false(got_ok)
        q:put("end")
        assert.equal(n + 2, q:qsize())
        assert.equal(mod, q:get(false).m)
        for i = 1, n do assert.equal(i, q:get(false)) end
        assert.equal("end", q:get(false))
        assert.is_true(q:empty())
      end
    end)
  end)

  describe("task_done and join", function()
    it("join returns once every item is task_done", function()
      local q = threading.Queue()
      for i = 1, 3 do q:put(i) end
      assert.equal(3, q.unfinished_tasks)
      local t = spawn(function(q)
        local sum = 0
        for _ = 1, 3 do
          sum = sum + q:get()
          q:task_done()
        end
        return sum
      end, q)
      assert.is_true(q:join())
      assert.equal(0, q.unfinished_tasks)
      assert.equal(6, finish(t))
    end)

    it("task_done too often is a ValueError", function()
      local q = threading.Queue()
      assert_contains(error_of(q.task_done, q), "ValueError: task_done() called too many times")
      q:put(1)
      q:get()
      q:task_done()
      assert_contains(error_of(q.task_done, q), "ValueError: task_done() called too many times")
    end)

    it("join(timeout) returns false while tasks are unfinished", function()
      local q = threading.Queue()
      assert.is_true(q:join(0))
      q:put(1)
      assert.is_false(q:join(0.02))
      q:get()
      assert.is_false(q:join(0))
      q:task_done()
      assert.is_true(q:join(0))
    end)
  end)

  describe("shutdown", function()
    it("makes put raise ShutDown and get drain, then return nil, 'shutdown'", function()
      local q = threading.Queue()
      q:put(1)
      q:put(2)
      assert.is_false(q.is_shutdown)
      q:shutdown()
      assert.is_true(q.is_shutdown)
      assert_contains(error_of(q.put, q, 3), "ShutDown")
      assert.equal(1, q:get())
      assert.equal(2, q:get_nowait())
      assert.same({nil, "shutdown"}, {q:get()})
      assert.same({nil, "shutdown"}, {q:get(false)})
      assert.same({nil, "shutdown"}, {q:get(true, 1)})
      assert.matches("shutdown", tostring(q))
    end)

    it("wakes blocked getters and putters", function()
      local empty, full = threading.Queue(), threading.Queue(1)
      full:put(0)
      local getter = spawn(function(q) return q:get() end, empty)
      local putter = spawn(function(q) return pcall(q.put, q, 1) end, full)
      eventually(function() return getter:is_alive() and putter:is_alive() end)
      threading.sleep(0.01)
      empty:shutdown()
      full:shutdown()
      assert.same({nil, "shutdown"}, {finish(getter)})
      local ok, err = finish(putter)
      assert.is_false(ok)
      assert_contains(err, "ShutDown")
    end)

    it("immediate drains at once and releases join", function()
      local q = threading.Queue()
      for i = 1, 3 do q:put(i) end
      local joiner = spawn(function(q) return q:join() end, q)
      q:shutdown(true)
      assert.is_true(finish(joiner))
      assert.equal(0, q:qsize())
      assert.equal(0, q.unfinished_tasks)
      assert.same({nil, "shutdown"}, {q:get()})
    end)

    it("immediate keeps counting items already taken but not done (as Python)", function()
      local q = threading.Queue()
      q:put(1)
      q:put(2)
      q:get()
      q:shutdown(true)
      assert.equal(1, q.unfinished_tasks)
      assert.is_false(q:join(0))
      q:task_done()
      assert.is_true(q:join(0))
    end)

    it("ends items() once drained", function()
      local q = threading.Queue(3)
      local producer = spawn(function(q)
        for i = 1, 50 do q:put(i) end
        q:shutdown()
      end, q)
      local sum, n = 0, 0
      for item in q:items() do
        sum, n = sum + item, n + 1
      end
      finish(producer)
      assert.equal(50, n)
      assert.equal(1275, sum)
    end)
  end)

  it("tostring shows size and maxsize", function()
    local q = threading.Queue(10)
    for i = 1, 3 do q:put(i) end
    assert.equal("Queue(size 3, maxsize 10)", tostring(q))
    assert.equal("LifoQueue(size 0, maxsize 0)", tostring(threading.LifoQueue()))
    assert.equal("SimpleQueue(size 0)", tostring(threading.SimpleQueue()))
  end)

  -- A box whose methods are looked up often gets a metatable of its own
  -- (value/object.c): nothing of that may show.
  it("keeps its fields, errors, metatable and collection once it is busy", function()
    local q = threading.Queue(4)
    local mt = getmetatable(q)
    for i = 1, 200 do q:put(i); q:get() end
    assert.equal(mt, getmetatable(q))
    assert.equal(getmetatable(threading.Queue()), getmetatable(q))
    assert.equal(4, q.maxsize)
    assert.equal(200, q.unfinished_tasks)
    assert.is_false(q.is_shutdown)
    assert.is_nil(q.no_such_field)
    assert_contains(error_of(function() q.maxsize = 1 end), "cannot set field 'maxsize' of a Queue")
    assert_contains(error_of(function() q.put(42, 1) end), "Queue expected")
    assert.equal("Queue(size 0, maxsize 4)", tostring(q))
    q:shutdown()
    assert.is_true(q.is_shutdown)
    -- the same in a thread that received it, and the box is still collected
    local worker = spawn(function(queue)
      for _ = 1, 200 do queue:qsize() end
      return queue.maxsize, queue.is_shutdown, select(2, queue:get())
    end, q)
    assert.same({4, true, "shutdown"}, {finish(worker)})
    local own = debug.getmetatable(q)
    assert_contains(error_of(function() getmetatable(own).__index({}, "maxsize") end),
                    "not the metatable of a threading object")
    local boxes = setmetatable({q}, {__mode = "v"})
    q, own = nil, nil
    collectgarbage()
    collectgarbage()
    assert.is_nil(boxes[1])
  end)
end)

describe("LifoQueue", function()
  it("is last in, first out", function()
    local q = threading.LifoQueue(3)
    for i = 1, 3 do q:put(i) end
    assert.is_true(q:full())
    assert.same({3, 2, 1}, {q:get(), q:get(), q:get()})
    q:put("a")
    q:put("b")
    assert.equal("b", q:get())
    q:put("c")
    assert.same({"c", "a"}, {q:get(), q:get()})
  end)

  it("has task_done, join and shutdown", function()
    local q = threading.LifoQueue()
    q:put(1)
    q:get()
    q:task_done()
    assert.is_true(q:join(0))
    q:shutdown()
    assert.same({nil, "shutdown"}, {q:get()})
  end)
end)

describe("PriorityQueue", function()
  it("returns the lowest priority first", function()
    local q = threading.PriorityQueue()
    for _, p in ipairs{5, 1, 4, 2, 3} do q:put(p) end
    local out = {}
    while not q:empty() do out[#out + 1] = q:get() end
    assert.same({1, 2, 3, 4, 5}, out)
  end)

  it("takes {priority, value} tables and returns them whole", function()
    local q = threading.PriorityQueue()
    q:put({2, "two"})
    q:put({1, "one", extra = true})
    assert.same({1, "one", extra = true}, q:get())
    assert.same({2, "two"}, q:get())
  end)

  it("keeps insertion order for equal priorities", function()
    local q = threading.PriorityQueue()
    for i = 1, 20 do q:put({i % 3, i}) end
    local out = {}
    for _ = 1, 20 do out[#out + 1] = q:get()[2] end
    assert.same({3, 6, 9, 12, 15, 18, 1, 4, 7, 10, 13, 16, 19, 2, 5, 8, 11, 14, 17, 20}, out)
  end)

  it("takes items in (priority, insertion) order for any mix of puts and gets", function()
    -- Items that arrive in order and items that do not take different paths
    -- inside (a FIFO run and a heap): check both, and their mix, against a
    -- reference that sorts by priority, then insertion order.
    local rng_state = 12345
    local function rand(n) rng_state = (rng_state * 1103515245 + 12345) % 2147483648 return rng_state % n end
    for _, shape in ipairs{"rising", "equal", "random", "mixed"} do
      local q, ref, seq = threading.PriorityQueue(), {}, 0
      for step = 1, 2000 do
        if rand(3) > 0 or #ref == 0 then
          seq = seq + 1
          local p = shape == "rising" and seq or shape == "equal" and 7 or
                    shape == "random" and rand(50) or (step % 2 == 0 and seq or rand(50) + 0.5)
          q:put({p, seq})
          ref[#ref + 1] = {p, seq}
        else
          table.sort(ref, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
          local want = table.remove(ref, 1)
          assert.same(want, q:get())
        end
      end
      table.sort(ref, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
      for _, want in ipairs(ref) do assert.same(want, q:get()) end
      assert.is_true(q:empty())
    end
  end)

  it("compares integers and floats exactly, strings by bytes", function()
    local q = threading.PriorityQueue()
    for _, p in ipairs{2^53, 2^53 + 1 | 0, 1.5, 1, -math.huge, math.maxinteger, math.huge, -1} do
      q:put({p, p})
    end
    local out = {}
    while not q:empty() do out[#out + 1] = q:get()[1] end
    assert.same({-math.huge, -1, 1, 1.5, 2^53, 2^53 + 1 | 0, math.maxinteger, math.huge}, out)
    local s = threading.PriorityQueue()
    for _, p in ipairs{"b", "ab", "a", "", "a\0"} do s:put(p) end
    local strs = {}
    while not s:empty() do strs[#strs + 1] = s:get() end
    assert.same({"", "a", "a\0", "ab", "b"}, strs)
  end)

  it("refuses items without an orderable priority, and mixed kinds", function()
    local q = threading.PriorityQueue()
    assert_contains(error_of(q.put, q, true), "TypeError")
    assert_contains(error_of(q.put, q, {{}, "x"}), "TypeError: PriorityQueue priority (item[1])")
    assert_contains(error_of(q.put, q, {}), "TypeError")
    assert_contains(error_of(q.put, q, 0/0), "ValueError: PriorityQueue priority is NaN")
    q:put(1)
    assert_contains(error_of(q.put, q, "a"), "TypeError: '<' not supported")
    assert.equal(1, q:qsize())
    q:get()
    q:put({"a", 1}) -- empty again: any kind
    assert_contains(error_of(q.put, q, {1, "a"}), "TypeError: '<' not supported")
    assert.same({"a", 1}, q:get())
  end)

  it("blocks and shuts down like Queue", function()
    local q = threading.PriorityQueue(1)
    q:put(3)
    assert.same({nil, "full"}, {q:put(1, true, 0.01)})
    q:shutdown(true)
    assert.same({nil, "shutdown"}, {q:get()})
    assert_contains(error_of(q.put, q, 1), "ShutDown")
  end)
end)

describe("SimpleQueue", function()
  it("is an unbounded FIFO with put/get/qsize/empty only", function()
    local q = threading.SimpleQueue()
    for i = 1, 3 do q:put(i) end
    assert.is_true(q:put_nowait(4))
    assert.equal(4, q:qsize())
    assert.same({1, 2, 3, 4}, {q:get(), q:get_nowait(), q:get(true, 1), q:get(false)})
    assert.is_true(q:empty())
    assert.same({nil, "empty"}, {q:get(true, 0.01)})
    assert.is_nil(q.task_done)
    assert.is_nil(q.join)
    assert.is_nil(q.shutdown)
    assert.is_nil(q.maxsize)
  end)

  it("is shared by reference between threads", function()
    local q = threading.SimpleQueue()
    local t = spawn(function(q) for i = 1, 100 do q:put(i) end end, q)
    local sum = 0
    for _ = 1, 100 do sum = sum + q:get() end
    finish(t)
    assert.equal(5050, sum)
  end)
end)
