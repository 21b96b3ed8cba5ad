-- Values that cross between threads (contract section 2): what is copied,
-- what is shared by reference, and the errors for what cannot cross.
-- The C test tests/c/value/test_transfer.c covers the encoder in more detail.
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_value

-- Sends the values to a new thread, which returns f(...) of them.
local function through_thread(f, ...)
  local t = threading.Thread(f, ...)
  t:start()
  assert.is_true(t:join(30))
  return t:result()
end

local function echo(...) return ... end

-- The message without the "file:line: " position.
local function message_of(f, ...)
  return (tostring(error_of(f, ...)):gsub("^[^:]*:%d+: ", ""))
end

describe("values that cross between threads", function()
  it("keep nil, booleans and the number subtypes", function()
    local values = table.pack(through_thread(echo, nil, true, false, 0, -7, math.maxinteger,
                                             math.mininteger, 1.0, -0.0, 1 / 0, -1 / 0, 0 / 0, 0.1))
    assert.equal(13, values.n)
    assert.is_nil(values[1])
    assert.is_true(values[2])
    assert.is_false(values[3])
    for i = 4, 7 do assert.equal("integer", math.type(values[i])) end
    assert.equal(math.maxinteger, values[6])
    assert.equal(math.mininteger, values[7])
    for i = 8, 13 do assert.equal("float", math.type(values[i])) end
    assert.equal(-math.huge, 1 / values[9]) -- negative zero
    assert.equal(math.huge, values[10])
    assert.equal(-math.huge, values[11])
    assert.is_true(values[12] ~= values[12]) -- NaN
    assert.equal(0.1, values[13])
  end)

  it("keep every key of a table: sequence, holes, and keys that only look like indices", function()
    local t = {10, 20, 30, nil, 50, ["1"] = "string one", [2.5] = "half", [-1] = "minus",
               [0] = "zero", x = "x", [100] = "far"}
    local u = through_thread(echo, t)
    local keys = 0
    for k, v in pairs(t) do
      assert.equal(v, u[k], "key " .. tostring(k))
      keys = keys + 1
    end
    for _ in pairs(u) do keys = keys - 1 end
    assert.equal(0, keys)
    assert.equal("string one", u["1"])
    assert.equal(10, u[1])
  end)

  it("copy binary strings and big strings", function()
    local bin = "\0a\0\255\n\r" .. string.rep("\0", 10)
    local big = string.rep("0123456789abcdef", 65536) -- 1 MB
    local b, g, len = through_thread(function(x, y) return x, y, #y end, bin, big)
    assert.equal(bin, b)
    assert.equal(#big, len)
    assert.is_true(g == big)
  end)

  it("copy tables deeply, keeping cycles, shared sub-tables and metatables", function()
    local shared = {"shared"}
    local mt = {__index = function(_, k) return "default " .. k end}
    local t = setmetatable({a = shared, b = shared, list = {1, 2, {3}}}, mt)
    t.self = t
    local copy, same_inside, is_cycle, via_mt = through_thread(function(x)
      return x, x.a == x.b, x.self == x, x.missing
    end, t)
    assert.is_true(same_inside)
    assert.is_true(is_cycle)
    assert.equal("default missing", via_mt)
    assert.are_not.equal(t, copy) -- a copy...
    assert.equal(copy, copy.self) -- ...that came back with its cycle
    assert.equal(copy.a, copy.b)
    assert.same({1, 2, {3}}, copy.list)
    assert.equal("default other", copy.other)
  end)

  it("copy: changes in the thread are not seen by the sender", function()
    local t = {n = 1}
    through_thread(function(x) x.n = 2 end, t)
    assert.equal(1, t.n)
  end)

  it("copy 100 levels of nesting and refuse 1000 cleanly", function()
    local deep = {}
    local cur = deep
    for i = 1, 100 do cur.next = {i = i} cur = cur.next end
    local depth = through_thread(function(x)
      local n = 0
      while x.next do x = x.next n = n + 1 end
      return n
    end, deep)
    assert.equal(100, depth)
    local deeper = {}
    cur = deeper
    for _ = 1, 1000 do cur[1] = {} cur = cur[1] end
    local err = message_of(threading.Thread, echo, deeper)
    assert.truthy(err:find("cannot send a value nested more than", 1, true), err)
  end)

  it("copy functions with their upvalues; shared upvalues stay shared", function()
    local count = 0
    local function inc() count = count + 1 return count end
    local function get() return count end
    local result = through_thread(function(i, g) i() i() i() return g() end, inc, get)
    assert.equal(3, result)
    assert.equal(0, count) -- the sender's upvalue did not change
  end)

  it("run recursive local functions as targets", function()
    local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
    assert.equal(55, through_thread(fib, 10))
  end)

  it("give functions the receiving thread's globals", function()
    rawset(_G, "transfer_spec_marker", "main")
    local function read() return transfer_spec_marker end -- luacheck: ignore
    local function write() transfer_spec_marker = "thread" end -- luacheck: ignore
    finally(function() rawset(_G, "transfer_spec_marker", nil) end)
    assert.is_nil(through_thread(read))
    assert.equal("thread", through_thread(function(w, r) w() return r() end, write, read))
    assert.equal("main", rawget(_G, "transfer_spec_marker"))
  end)

  it("give upvalues holding a module the receiver's own module", function()
    local str, th = string, threading
    local same_string, same_threading = through_thread(function()
      return str == string, th == require "threading"
    end)
    assert.is_true(same_string)
    assert.is_true(same_threading)
  end)

  it("send loaded modules as values by name: the receiver's own module", function()
    local q = threading.Queue()
    for _, m in ipairs{string, threading, threading.log, _G.package} do
      q:put({m, m})
      local got = q:get()
      assert.equal(m, got[1])
      assert.equal(m, got[2])
    end
    assert.same({true, true}, {through_thread(function(s, t) return s == string, t == require("threading") end,
                                              string, threading)})
  end)

  it("keeps what __reduce returned distinct, even when the collector runs between the calls", function()
    -- Its results are known to the encoder by address: freed early, a later
    -- table could take the address of an earlier one and come out as it.
    local mt = {__reduce = function(self)
      collectgarbage()
      return "table", "pack", {id = self.id}
    end}
    local values = {}
    for i = 1, 20 do values[i] = setmetatable({id = i}, mt) end
    local q = threading.Queue()
    q:put(values)
    local got = q:get()
    for i = 1, 20 do assert.equal(i, got[i][1].id) end
  end)

  it("send a table whose metatable has __reduce as the call it names, made by the receiver", function()
    local mt = {__reduce = function(self) return "string", "rep", self.s, self.n end}
    local v = setmetatable({s = "ab", n = 3}, mt)
    local q = threading.Queue()
    q:put({v, v, n = v})
    local got = q:get()
    assert.equal("ababab", got[1])
    assert.equal("ababab", got.n)
    assert.equal("ababab", through_thread(echo, v))
    local log = threading.log
    assert.is_true(through_thread(function(l) return l == require("threading").log.getLogger("a.b") end,
                                  log.getLogger("a.b")))
    q:put(log.getLogger("a.b"))
    assert.equal(log.getLogger("a.b"), q:get())
    mt.__reduce = function() return 42 end
    assert.matches("item: cannot send a table whose __reduce does not return a module name",
                   message_of(q.put, q, v))
    mt.__reduce = function() return "string", "rep", coroutine.create(print) end
    assert.matches("item<__reduce>: cannot send coroutine", message_of(q.put, q, v))
    mt.__reduce = function() return "string", "nothing_here" end
    q:put(v)
    assert.matches("cannot receive a value made by 'string.nothing_here'", message_of(q.get, q))
  end)

  it("load a closed function received again once, and a changed one afresh", function()
    local function closed(x) return x + 1 end           -- no upvalues
    local function global_user(x) return math.abs(x) end -- only _ENV
    local n = 0
    local function counting() n = n + 1 return n end     -- a real upvalue
    local q = threading.Queue()
    local t = threading.Thread(function()
      local a1, a2 = q:get(), q:get()
      local b1, b2 = q:get(), q:get()
      local c1, c2 = q:get(), q:get()
      local same = {a1 == a2, b1 == b2, c1 == c2, a1(1), b2(-2), c1(), c2()}
      debug.setupvalue(b1, 1, {math = {abs = function() return "sandboxed" end}})
      local b3 = q:get()
      same[#same + 1] = b3 ~= b1 and b3(-3) == 3 and b1(-3) == "sandboxed"
      return same
    end)
    t:start()
    for _, f in ipairs{closed, closed, global_user, global_user, counting, counting, global_user} do q:put(f) end
    assert.is_true(t:join(30))
    assert.same({true, true, false, 2, 2, 1, 1, true}, t:result())
  end)

  it("keep two distinct closed functions of one message distinct", function()
    local function make() return function(x) return x * 2 end end
    local f1, f2 = make(), make()
    local keyed = {[f1] = "one", [f2] = "two"}
    local function count_keys(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
    local t = threading.Thread(function(list, map)
      return list[1] ~= list[2], list[1] == list[3], count_keys(map)
    end, {f1, f2, f1}, keyed)
    t:start()
    assert.is_true(t:join(30))
    assert.same({true, true, 2}, {t:result()})
  end)

  it("send the standard C functions and threading's by name", function()
    local ok = through_thread(function(p, f, lock_ctor, sleep)
      return p == print and f == string.format and lock_ctor == require("threading").Lock
         and sleep == require("threading").sleep
    end, print, string.format, threading.Lock, threading.sleep)
    assert.is_true(ok)
    assert.equal(print, (through_thread(function() return print end)))
  end)

  it("name a C function set in a library after an earlier send (the state's table of names is renewed)", function()
    local q = threading.Queue()
    q:put(string.len) -- the state's table of C function names is made, and kept
    assert.equal(string.len, q:get())
    local iterator = string.gmatch("a", "a") -- a C function with no name
    string.tlua_spec_iterator = iterator
    q:put(iterator)
    local got = q:get()
    string.tlua_spec_iterator = nil
    assert.equal(iterator, got)
  end)

  it("share threading objects by reference", function()
    local lock = threading.Lock()
    local ev = threading.Event()
    local t = threading.Thread(function(l, e, tbl)
      assert(l:acquire(false))
      e:set()
      return l == tbl.lock, l
    end, lock, ev, {lock = lock})
    t:start()
    t:join()
    local same, back = t:result()
    assert.is_true(same) -- one box per object in the thread too
    assert.equal(lock, back) -- and the same box here when it comes back
    assert.is_true(lock:locked())
    assert.is_true(ev:is_set())
    lock:release()
  end)

  it("are recognised by something Lua code cannot forge, not even with debug.setmetatable", function()
    local ev, lock = threading.Event(), threading.Lock()
    local mt = getmetatable(ev)
    mt.__tlkind = getmetatable(lock).__tlkind -- a field would be editable
    assert.truthy(tostring(error_of(lock.release, ev)):find("Lock expected", 1, true))
    if type(mt.__index) == "function" then -- kinds with fields have a C __index
      assert.truthy(tostring(error_of(mt.__index, io.stdout, "x")):find("threading object expected", 1, true))
    else -- the others index their methods table: nothing C to misuse
      assert.equal("table", type(mt.__index))
    end
    local tmt = getmetatable(threading.Thread(function() end))
    assert.truthy(tostring(error_of(tmt.__index, io.stdout, "x")):find("threading object expected", 1, true))
    mt.__gc(io.stdout) -- ignored, no crash
    assert.is_false(ev:is_set())
    assert.equal("value: cannot send userdata",
                 message_of(function() threading.shared().x = io.stdout end))
    -- A foreign userdata given a lock's metatable is still no lock.
    local f = io.tmpfile()
    local fmt = debug.getmetatable(f)
    debug.setmetatable(f, getmetatable(lock))
    local ok, err = pcall(lock.acquire, f)
    local ok2, err2 = pcall(threading.Thread(function() end).join, f)
    debug.setmetatable(f, fmt)
    f:close()
    assert.is_false(ok)
    assert.truthy(tostring(err):find("Lock expected", 1, true))
    assert.is_false(ok2)
    assert.truthy(tostring(err2):find("Thread expected", 1, true))
  end)

  it("do not leak threading objects", function()
    -- Threads of earlier tests drop their own reference just after join
    -- returns: wait (bounded) until the count is stable.
    local function settled_count()
      local deadline, last = threading.monotonic() + 10, -1
      while true do
        collectgarbage()
        collectgarbage()
        local n = threading._live_objects()
        if (n == last and threading.active_count() == 1) or threading.monotonic() > deadline then
          return n
        end
        last = n
        threading.sleep(0.01)
      end
    end
    local before = settled_count()
    do
      local lock = threading.Lock()
      local box = threading.shared{lock = lock}
      through_thread(function(l, b) return l, b, b.lock end, lock, box)
    end
    assert.equal(before, settled_count())
  end)

  describe("refuse", function()
    it("coroutines, foreign userdata and unknown C functions, naming the type", function()
      local s = threading.shared()
      assert.equal("value: cannot send coroutine",
                   message_of(function() s.x = coroutine.create(print) end))
      assert.equal("value: cannot send userdata", message_of(function() s.x = io.stdout end))
      assert.equal("value: cannot send C function (only those of the standard libraries and "
                   .. "threading can cross)", message_of(function() s.x = string.gmatch("", "") end))
    end)

    it("naming where the value was found", function()
      local s = threading.shared()
      assert.equal("value.conn: cannot send userdata",
                   message_of(function() s.x = {conn = io.stdout} end))
      assert.equal('value.list[2]["a key"]: cannot send userdata',
                   message_of(function() s.x = {list = {1, {["a key"] = io.stderr}}} end))
      assert.equal("value<metatable>.__index: cannot send userdata",
                   message_of(function() s.x = setmetatable({}, {__index = io.stdout}) end))
      local f = io.stdout
      assert.equal("value.cb<upvalue f>: cannot send userdata",
                   message_of(function() s.x = {cb = function() return f end} end))
      assert.equal("value<key>: cannot send userdata",
                   message_of(function() s.x = {[io.stdout] = true} end))
    end)

    it("in a thread's target", function()
      local co = coroutine.create(print)
      assert.equal("target<upvalue co>: cannot send coroutine",
                   message_of(threading.Thread, function() return co end))
      assert.equal("target<upvalue co>: cannot send coroutine",
                   message_of(threading.Thread, {target = function() return co end}))
    end)

    it("in a thread's arguments, numbered as the user counts them", function()
      assert.equal("args[2].conn: cannot send userdata",
                   message_of(threading.Thread, print, 1, {conn = io.stdout}))
      assert.equal("args[1]: cannot send coroutine",
                   message_of(threading.Thread, {target = print, args = {coroutine.create(print)}}))
    end)
  end)
end)
