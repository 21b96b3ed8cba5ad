-- threading.atomic: add, update and compare_and_set on a shared table's key,
-- alone and raced by many threads (no update may be lost).
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_of
local atomic = threading.atomic

-- Runs f(i) in n threads at once (they start together on a Barrier) and
-- joins them.
local function in_threads(n, f)
  local start = threading.Barrier(n)
  local ts = {}
  for i = 1, n do
    ts[i] = threading.Thread(function(i)
      start:wait()
      f(i)
    end, i):start()
  end
  helpers.join_all(ts)
  for _, t in ipairs(ts) do t:result() end -- re-raises a thread's error
end

describe("threading.atomic.add", function()
  it("adds to a number and returns the sum; an absent key counts as 0", function()
    local s = threading.shared()
    assert.equal(1, atomic.add(s, "n")) -- n defaults to 1
    assert.equal(6, atomic.add(s, "n", 5))
    assert.equal(3, atomic.add(s, "n", -3))
    assert.equal("integer", math.type(s.n))
    assert.equal(3.5, atomic.add(s, "n", 0.5))
    assert.equal("float", math.type(s.n))
    assert.equal(-1.0, atomic.add(s, 7, -1.0)) -- any key a shared table takes
    assert.equal(1, atomic.add(s, true))
    assert.equal(1, atomic.add(s, 2.0)) -- the integer key 2
    assert.equal(1, s[2])
  end)

  it("follows Lua's arithmetic: integers wrap around, floats stay floats", function()
    local s = threading.shared{big = math.maxinteger, f = 1.0}
    assert.equal(math.mininteger, atomic.add(s, "big"))
    assert.equal("float", math.type(atomic.add(s, "f", 1)))
    assert.equal(2.0, s.f)
  end)

  it("raises clear errors for misuse", function()
    local s = threading.shared{str = "x", t = {}}
    assert.matches("TypeError: threading.atomic.add: the value of key 'str' is a string, not a number",
                   error_of(atomic.add, s, "str"))
    assert.matches("the value of key 't' is a table", error_of(atomic.add, s, "t", 1))
    assert.equal("x", s.str)
    assert.matches("bad argument #3 to .- %(number expected, got string%)", error_of(atomic.add, s, "n", "1"))
    assert.matches("bad argument #2 to .- %(shared table index is nil%)", error_of(atomic.add, s, nil))
    assert.matches("bad argument #2 to .- %(shared table index is NaN%)", error_of(atomic.add, s, 0 / 0))
    assert.matches("bad argument #2 to .-got table", error_of(atomic.add, s, {}))
    assert.matches("bad argument #1 to .- %(shared expected, got table%)", error_of(atomic.add, {}, "n"))
  end)

  it("loses no update: 8 threads x 5000 adds give the exact sum", function()
    local s = threading.shared{n = 0}
    in_threads(8, function(i)
      for _ = 1, 5000 do atomic.add(s, "n") end
      for _ = 1, 1000 do atomic.add(s, "by_i", i) end
    end)
    assert.equal(40000, s.n)
    assert.equal(1000 * (8 * 9 // 2), s.by_i)
  end)

  it("is one schedule point: threading.check never sees a lost update", function()
    assert.equal(300, threading.check(function()
      local s = threading.shared()
      local function count(s) for _ = 1, 3 do atomic.add(s, "n") end end
      local a, b = threading.Thread(count, s):start(), threading.Thread(count, s):start()
      a:join() b:join()
      assert(s.n == 6, "lost updates: n = " .. tostring(s.n))
    end, {runs = 300}))
  end)
end)

describe("threading.atomic.update", function()
  it("stores f(old, ...) and returns it; nil removes the key", function()
    local s = threading.shared()
    local seen = {}
    assert.equal(3, atomic.update(s, "u", function(old, a, b)
      seen[#seen + 1] = tostring(old)
      return (old or 0) + a + b
    end, 1, 2))
    assert.equal(3, s.u)
    assert.same({"nil"}, seen) -- called once
    assert.same({1, 2, 3}, atomic.update(s, "list", function(t)
      t = t or {}
      t[#t + 1] = #t + 1
      return t
    end) and atomic.update(s, "list", function(t) t[#t + 1] = 2 t[#t + 1] = 3 return t end))
    assert.same({1, 2, 3}, s.list)
    assert.is_nil(atomic.update(s, "u", function() return nil end))
    assert.is_nil(s.u)
    for k in pairs(s) do assert.not_equal("u", k) end
  end)

  it("passes an error of f on, changing nothing, and lets others write afterwards", function()
    local s = threading.shared{u = 1}
    local err = helpers.error_value(atomic.update, s, "u", function() error({code = 7}) end)
    assert.equal(7, err.code)
    assert.equal(1, s.u)
    helpers.run(function() s.u = 2 atomic.add(s, "u") end) -- the table is not left held
    assert.equal(3, s.u)
    assert.matches("cannot send userdata", error_of(atomic.update, s, "u", function() return io.stdout end))
    assert.equal(3, s.u)
    assert.matches("bad argument #3 to .- %(function expected, got number%)", error_of(atomic.update, s, "u", 3))
  end)

  it("lets f use the table itself, nested updates included", function()
    local s = threading.shared()
    assert.equal("outer", atomic.update(s, "x", function()
      s.y = "written by f"
      atomic.add(s, "n")
      atomic.update(s, "x", function() return "inner" end)
      return "outer"
    end))
    assert.equal("outer", s.x)
    assert.equal("written by f", s.y)
    assert.equal(1, s.n)
  end)

  it("loses no update: 4 threads x 1000 updates, mixed with adds, give the exact sum", function()
    local s = threading.shared{n = 0}
    in_threads(4, function(i)
      for _ = 1, 1000 do
        if i % 2 == 0 then atomic.update(s, "n", function(v) return v + 1 end)
        else atomic.add(s, "n") end
      end
    end)
    assert.equal(4000, s.n)
  end)

  it("makes other threads' writes wait until f is done (found by exploring schedules)", function()
    -- Without the wait, the plain write could land while f runs and be
    -- overwritten: the result would be "A" alone.
    assert.equal(300, threading.check(function()
      local s = threading.shared()
      local a = threading.Thread(function()
        atomic.update(s, "k", function(old)
          for _ = 1, 3 do local _ = s.other end -- schedule points inside f
          return tostring(old) .. "A"
        end)
      end):start()
      local b = threading.Thread(function() s.k = "B" end):start()
      a:join() b:join()
      assert(s.k == "BA" or s.k == "B", "the write was lost: " .. s.k)
    end, {runs = 300}))
  end)

  it("reports a deadlock through the table, naming the thread in f", function()
    local ok, err = pcall(threading.check, function()
      local s, lock = threading.shared(), threading.Lock()
      local inside = threading.Event()
      local a = threading.Thread(function()
        atomic.update(s, "k", function()
          inside:set()
          lock:acquire() -- held by b, which waits for the table
          lock:release()
          return 1
        end)
      end)
      lock:acquire()
      a:start()
      inside:wait()
      local b = threading.Thread(function() s.k = 2 end):start()
      b:join()
      lock:release()
      a:join()
    end, {runs = 5})
    assert.is_false(ok)
    assert.matches("deadlock: all threads are blocked", err)
    assert.matches("shared table", err)
  end)
end)

describe("threading.atomic.compare_and_set", function()
  it("sets the new value only when the key holds the old one", function()
    local s = threading.shared()
    assert.is_true(atomic.compare_and_set(s, "c", nil, 1)) -- nil: absent
    assert.is_false(atomic.compare_and_set(s, "c", nil, 2))
    assert.is_false(atomic.compare_and_set(s, "c", 2, 3))
    assert.equal(1, s.c)
    assert.is_true(atomic.compare_and_set(s, "c", 1.0, "one")) -- Lua's ==: 1 == 1.0
    assert.is_true(atomic.compare_and_set(s, "c", "one", false))
    assert.is_false(atomic.compare_and_set(s, "c", nil, true))
    assert.is_true(atomic.compare_and_set(s, "c", false, 0.5))
    assert.is_false(atomic.compare_and_set(s, "c", 0, 1))
    assert.is_true(atomic.compare_and_set(s, "c", 0.5, nil)) -- nil: removes
    assert.is_nil(s.c)
    local long, lock = string.rep("x", 100), threading.Lock()
    s.long = long
    assert.is_false(atomic.compare_and_set(s, "long", long .. "y", 1))
    assert.is_true(atomic.compare_and_set(s, "long", long, lock))
    assert.is_false(atomic.compare_and_set(s, "long", threading.Lock(), 1)) -- objects: by identity
    assert.is_true(atomic.compare_and_set(s, "long", lock, {1, 2}))
    assert.same({1, 2}, s.long)
  end)

  it("raises clear errors for misuse", function()
    local s = threading.shared{t = {}}
    assert.matches("bad argument #3 to .-nil, boolean, number, string or threading object expected, got table",
                   error_of(atomic.compare_and_set, s, "t", {}, 1))
    assert.matches("bad argument #4 to .- %(value expected%)", error_of(atomic.compare_and_set, s, "t", nil))
    assert.matches("cannot send userdata", error_of(atomic.compare_and_set, s, "t", nil, io.stdout))
    assert.matches("bad argument #1 to .- %(shared expected", error_of(atomic.compare_and_set, nil, "t", 1, 2))
  end)

  it("loses no update in a compare-and-set loop: 4 threads x 2000 increments", function()
    local s = threading.shared{n = 0}
    in_threads(4, function()
      for _ = 1, 2000 do
        repeat local n = s.n until atomic.compare_and_set(s, "n", n, n + 1)
      end
    end)
    assert.equal(8000, s.n)
  end)
end)

describe("threading.atomic", function()
  it("crosses into threads as functions and as the table", function()
    local s = threading.shared()
    local add, a = atomic.add, atomic
    helpers.run(function() add(s, "n") a.update(s, "n", function(v) return v * 10 end) end)
    assert.equal(10, s.n)
  end)

  it("makes each operation one schedule point, named with its key (tlua --schedule-log)", function()
    if os.getenv("TLUA_HOST") == "lua5.4" then return pending("--schedule-log is an option of tlua") end
    local path = os.tmpname()
    helpers.write_file(path, [[
      local threading = require "threading"
      local s = threading.shared()
      local function f(s)
        threading.atomic.add(s, "n")
        threading.atomic.update(s, "u", function(v) return (v or 0) + 1 end)
        threading.atomic.compare_and_set(s, "c", nil, 1)
      end
      local a, b = threading.Thread(f, s):start(), threading.Thread(f, s):start()
      a:join() b:join()
      print("result", s.n, s.u, s.c)
    ]])
    local out, err, status = helpers.execute(("%s -X sched=rr --schedule-log - %s"):format(
      helpers.shell_quote(helpers.interpreter()), helpers.shell_quote(path)))
    os.remove(path)
    assert.equal(0, status, err)
    assert.matches("result%s+2%s+2%s+1", out)
    local log = out .. err
    for _, point in ipairs{"atomic.add 'n'", "atomic.update 'u'", "atomic.compare_and_set 'c'"} do
      assert.truthy(log:find("at " .. point, 1, true), point .. " missing from:\n" .. log)
    end
  end)

  it("keeps the table's keys its own: no method hides a key", function()
    local s = threading.shared{add = 1, update = 2, compare_and_set = 3}
    assert.equal(1, s.add)
    assert.equal(2, s.update)
    assert.equal(3, s.compare_and_set)
  end)
end)
