-- threading.shared([tbl]): a table shared by reference between threads.
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_of

local run = helpers.run

describe("threading.shared", function()
  it("starts empty or with a copy of a table", function()
    local empty = threading.shared()
    assert.is_nil(empty.x)
    assert.equal(0, #empty)
    local src = {1, 2, x = "y"}
    local s = threading.shared(src)
    assert.equal(1, s[1])
    assert.equal("y", s.x)
    src.x = "changed"
    assert.equal("y", s.x)
    assert.truthy(error_of(threading.shared, 42):find("table expected", 1, true))
  end)

  it("is seen and changed by every thread", function()
    local s = threading.shared{count = 1}
    run(function(t) t.count = t.count + 1 t.from_thread = "hello" end, s)
    assert.equal(2, s.count)
    assert.equal("hello", s.from_thread)
    -- A shared table reached through an upvalue is the same table too.
    run(function() s.count = 10 end)
    assert.equal(10, s.count)
  end)

  it("stores copies of plain tables; nested shared tables stay shared", function()
    local s = threading.shared()
    local plain = {1, 2}
    s.plain = plain
    plain[1] = "changed"
    assert.equal(1, s.plain[1])
    local a, b = s.plain, s.plain
    assert.are_not.equal(a, b) -- each read is a fresh copy
    s.plain[1] = 99 -- changes only that copy
    assert.equal(1, s.plain[1])
    local inner = threading.shared{n = 0}
    s.inner = inner
    assert.equal(inner, s.inner)
    run(function() s.inner.n = 5 end)
    assert.equal(5, inner.n)
  end)

  it("keeps the value types", function()
    local s = threading.shared()
    s.i, s.f, s.nz, s.b, s.str = 3, 3.0, -0.0, false, "a\0b"
    local i, f, nz, b, str = run(function() return s.i, s.f, s.nz, s.b, s.str end)
    assert.equal("integer", math.type(i))
    assert.equal("float", math.type(f))
    assert.equal(-math.huge, 1 / nz)
    assert.is_false(b)
    assert.equal("a\0b", str)
  end)

  it("keeps short strings, numbers, booleans and objects in place, other values as copies", function()
    local s = threading.shared()
    local short, long = string.rep("s", 32), string.rep("l", 33) -- 32 bytes are kept inline
    s.short = short
    s.long = long
    s.nan = 0 / 0
    s.inf = -math.huge
    assert.equal(short, s.short)
    assert.equal(long, s.long)
    assert.is_true(s.nan ~= s.nan)
    assert.equal(-math.huge, s.inf)
    local lock = threading.Lock()
    s.lock = lock
    assert.equal(lock, s.lock)
    s.short, s.long = long, short -- a value changes representation when replaced
    assert.equal(long, s.short)
    assert.equal(short, s.long)
    local got = run(function() return s.short, s.long, s.lock end)
    assert.equal(long, got)
    local keys, values = {}, {}
    for k, v in pairs(s) do keys[#keys + 1], values[k] = k, v end
    assert.same({"short", "long", "nan", "inf", "lock"}, keys)
    assert.equal(long, values.short)
    assert.equal(lock, values.lock)
  end)

  it("holds a reference to an object it stores, and drops it when replaced", function()
    local live = threading._live_objects()
    local s = threading.shared()
    do
      local e = threading.Event()
      e:set()
      s.e = e
    end
    collectgarbage() collectgarbage()
    assert.is_true(s.e:is_set()) -- alive through the table
    s.e = 1
    assert.is_true(helpers.settles_to(live + 1)) -- the table alone
  end)

  it("removes a key when nil is stored", function()
    local s = threading.shared{a = 1, b = 2}
    s.a = nil
    assert.is_nil(s.a)
    local keys = {}
    for k in pairs(s) do keys[#keys + 1] = k end
    assert.same({"b"}, keys)
    s.never = nil -- removing an absent key is fine
  end)

  it("accepts string, number and boolean keys; integral floats are integers", function()
    local s = threading.shared()
    s[1] = "int"
    assert.equal("int", s[1.0])
    s[2.0] = "two"
    assert.equal("two", s[2])
    for k in pairs(s) do assert.equal("integer", math.type(k)) end -- stored as integers
    s[1.5] = "float"
    assert.equal("float", s[1.5])
    assert.equal("int", s[1])
    s[true], s[false] = "yes", "no"
    assert.equal("yes", s[true])
    assert.equal("no", s[false])
    s[-0.0] = "zero"
    assert.equal("zero", s[0])
    assert.is_nil(s[0 / 0]) -- reading NaN gives nil, as in Lua
    assert.is_nil(s[nil])
  end)

  it("rejects other keys with clear errors", function()
    local s = threading.shared()
    assert.truthy(error_of(function() s[{}] = 1 end)
                  :find("shared table keys must be strings, numbers or booleans (got table)", 1, true))
    assert.truthy(error_of(function() return s[print] end):find("(got function)", 1, true))
    assert.truthy(error_of(function() s[nil] = 1 end):find("index is nil", 1, true))
    assert.truthy(error_of(function() s[0 / 0] = 1 end):find("index is NaN", 1, true))
    assert.truthy(error_of(function() s.x = coroutine.create(print) end)
                  :find("cannot send coroutine", 1, true))
  end)

  it("supports #, ipairs and pairs (in insertion order)", function()
    local s = threading.shared()
    for i = 1, 10 do s[i] = i * i end
    assert.equal(10, #s)
    local squares = {}
    for i, v in ipairs(s) do squares[i] = v end
    assert.equal(10, #squares)
    assert.equal(49, squares[7])
    s.z = 1
    s.a = 2
    s.m = 3
    local keys = {}
    for k, v in pairs(s) do keys[#keys + 1] = k end
    assert.same({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, "z", "a", "m"}, keys)
    s[11] = 0
    assert.equal(11, #s)
    s[11] = nil
    assert.equal(10, #s)
  end)

  it("iterates over a snapshot: changes during pairs are allowed", function()
    local s = threading.shared{a = 1, b = 2, c = 3}
    local n = 0
    for k in pairs(s) do
      s[k] = nil
      s[k .. "2"] = true
      n = n + 1
    end
    assert.equal(3, n)
    assert.is_nil(s.a)
    assert.is_true(s.a2)
  end)

  it("makes each read and write of one key atomic", function()
    -- Writers store whole tables; a reader must never see a mix.
    local s = threading.shared{value = {1, 1, 1, 1}}
    local stop = threading.Event()
    local writers = {}
    for w = 1, 2 do
      writers[w] = threading.Thread(function()
        local i = 0
        while not stop:is_set() do
          i = i + 1
          local v = w * 1000 + i
          s.value = {v, v, v, v}
        end
      end)
      writers[w]:start()
    end
    finally(function() stop:set() for _, t in ipairs(writers) do t:join() end end)
    for _ = 1, 2000 do
      local v = s.value
      assert(v[1] == v[2] and v[2] == v[3] and v[3] == v[4], "torn value")
    end
  end)

  it("loses no update when a Lock guards the read-modify-write", function()
    local s = threading.shared{n = 0}
    local lock = threading.Lock()
    local workers = {}
    for w = 1, 4 do
      workers[w] = threading.Thread(function()
        for _ = 1, 500 do
          lock:acquire()
          s.n = s.n + 1
          lock:release()
        end
      end)
      workers[w]:start()
    end
    for _, t in ipairs(workers) do assert.is_true(t:join(60)) end
    assert.equal(2000, s.n)
  end)

  it("has a tostring naming its size", function()
    local s = threading.shared{1, 2, 3}
    assert.truthy(tostring(s):find("shared(3 keys)", 1, true))
  end)
end)
