-- A new thread's Lua state: every standard library is there, opened on
-- first use (runtime.c, tl_open_thread_state), with tlua's wrappers.
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
end)
