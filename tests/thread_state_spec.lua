-- A new thread's Lua state: every standard library is there, opened on
-- first use (state.c, tl_open_thread_state), with tlua's wrappers.
local threading = require "threading"
local helpers = require "helpers"
local finish = helpers.finish

describe("a thread's state", function()
  it("has every standard library, by global name and by require", function()
    local t = threading.Thread(function()
      local got = {}
      for _, name in ipairs{"string", "table", "math", "io", "os", "coroutine", "utf8", "debug", "package"} do
        got[#got + 1] = type(_G[name]) == "table" and require(name) == _G[name]
      end
      return got, math.floor(2.5), table.concat({"a", "b"}), ("x"):rep(2), utf8.char(72)
    end)
    t:start()
    local got, floor, concat, rep, char = finish(t)
    assert.same({true, true, true, true, true, true, true, true, true}, got)
    assert.same({2, "ab", "xx", "H"}, {floor, concat, rep, char})
  end)

  it("loads a library first required, then reached as a global", function()
    local t = threading.Thread(function()
      local m = require "math"
      return m == math, rawget(_G, "math") == m
    end)
    t:start()
    assert.same({true, true}, {finish(t)})
  end)

  it("wraps io and coroutine when they are opened", function()
    local t = threading.Thread(function()
      local co = coroutine.wrap(function(a) coroutine.yield(a + 1) end)
      return co(1), io.write ~= nil and debug.getinfo(io.write, "S").what == "C"
    end)
    t:start()
    assert.same({2, true}, {finish(t)})
  end)

  it("receives functions whose upvalues are library functions", function()
    local insert, fmt = table.insert, string.format
    local t = threading.Thread(function()
      local list = {}
      insert(list, fmt("%d", 7))
      return list[1]
    end)
    t:start()
    assert.equal("7", finish(t))
  end)

  it("opens nothing but base until asked", function()
    local t = threading.Thread(function()
      local open = {}
      for _, name in ipairs{"string", "table", "math", "package", "require"} do
        if rawget(_G, name) ~= nil then open[#open + 1] = name end
      end
      return table.concat(open, ",")
    end)
    t:start()
    assert.equal("", finish(t))
  end)

  it("indexes strings and coerces them in arithmetic before string is open", function()
    local t = threading.Thread(function()
      local results = {("%d!"):format(3), "5" + 1, "3" * "4", -"2", "7" // 2, 2 ^ "3", "9" % 4, "1" - 1, "6" / "3"}
      return results, getmetatable("").__index == string, rawget(_G, "string") ~= nil
    end)
    t:start()
    local results, real_index, global = finish(t)
    assert.same({"3!", 6, 12, -2, 3, 8.0, 1, 0, 2.0}, results)
    assert.is_true(real_index)
    assert.is_true(global)
  end)

  it("still raises Lua's errors for strings that are not numbers", function()
    local t = threading.Thread(function()
      local ok, err = pcall(function() return "abc" + 1 end)
      local ok2, err2 = pcall(function() return ("x"):nosuchmethod() end)
      return ok, err, ok2, err2
    end)
    t:start()
    local ok, err, ok2, err2 = finish(t)
    assert.is_false(ok)
    assert.matches("thread_state_spec.lua:%d+: attempt to add a 'string' with a 'number'", err)
    assert.is_false(ok2)
    assert.matches("nosuchmethod", err2)
  end)

  it("receives the threading module without opening package, and require works after", function()
    local t = threading.Thread(function()
      local before = rawget(_G, "package") == nil and threading.Lock ~= nil
      local ok, err = pcall(require, "no_such_module_here")
      return before, ok, err, require("threading") == threading, package.loaded.threading == threading
    end)
    t:start()
    local before, ok, err, same, loaded = finish(t)
    assert.is_true(before)
    assert.is_false(ok)
    assert.matches("module 'no_such_module_here' not found", err)
    assert.is_true(same)
    assert.is_true(loaded)
  end)

  it("receives require itself as an upvalue", function()
    local req = require
    local t = threading.Thread(function() return req("string").format("%s", "ok") end)
    t:start()
    assert.equal("ok", finish(t))
  end)

  it("shows the real string metatable to code that extends it", function()
    local t = threading.Thread(function()
      local mt = getmetatable("")
      mt.__index.shout = function(s) return s:upper() .. "!" end
      return ("hi"):shout(), "2" + 2, rawequal(mt.__index, string)
    end)
    t:start()
    assert.same({"HI!", 4, true}, {finish(t)})
  end)

  it("shows it through debug.getmetatable too", function()
    local t = threading.Thread(function()
      return rawequal(debug.getmetatable("").__index, string)
    end)
    t:start()
    assert.is_true(finish(t))
  end)
end)

