-- The tlua command (contract section 1): it behaves as the stock lua5.4
-- command for the same scripts and options, plus -X gil=..., TLUA_GIL,
-- the wait for non-daemon threads at exit and whole-line printing.
-- Runs child processes of $TLUA (set by ctest); skipped without it, and
-- run once per GIL mode (under tlua only: the children do not depend on
-- the interpreter running busted).
local threading = require "threading"

local TLUA = os.getenv("TLUA")
local enabled = TLUA ~= nil and os.getenv("TLUA_HOST") ~= "lua5.4"
local describe_host = enabled and describe or pending

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local dir
local function path(name) return dir .. "/" .. name end

local function write_file(name, text)
  local f = assert(io.open(path(name), "wb"))
  f:write(text)
  f:close()
  return path(name)
end

local function read_file(name)
  local f = io.open(name, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- Runs `program args` (a shell fragment) with optional stdin text and
-- environment assignments; returns stdout, stderr, exit status, seconds.
local function execute(program, args, opts)
  opts = opts or {}
  local out, err = path("stdout"), path("stderr")
  local cmd = ("cd %s && %s %s %s >%s 2>%s"):format(q(dir), opts.env or "", program, args or "",
                                                   q(out), q(err))
  if opts.stdin then cmd = cmd .. " <" .. q(write_file("stdin", opts.stdin))
  else cmd = cmd .. " </dev/null" end
  local t0 = threading.monotonic()
  local ok, how, code = os.execute(cmd)
  local elapsed = threading.monotonic() - t0
  assert.equal("exit", how, "child killed by a signal: " .. cmd)
  return read_file(out), read_file(err), code, elapsed
end

-- lua5.4 and tlua print their own name before messages: make them equal.
-- (Both use argv[0], as lua.c does: tlua run by its path prints the path.)
local function normalise(stderr)
  local path = TLUA and TLUA:gsub("%p", "%%%0") or "tlua"
  return (stderr:gsub("lua5%.4: ", "PROG: "):gsub(path .. ": ", "PROG: "):gsub("tlua: ", "PROG: "))
end

-- Runs the same command line under lua5.4 and tlua: same stdout, same
-- exit status and (unless told otherwise) the same stderr.
local function same(args, opts)
  opts = opts or {}
  local out1, err1, code1 = execute("lua5.4", args, opts)
  local out2, err2, code2 = execute(q(TLUA), args, opts)
  assert.equal(out1, out2, "stdout of: " .. args)
  assert.equal(code1, code2, "exit status of: " .. args)
  if opts.stderr ~= false then assert.equal(normalise(err1), normalise(err2), "stderr of: " .. args) end
  return out2, err2, code2
end

local function tlua(args, opts) return execute(q(TLUA), args, opts) end

describe_host("tlua as a drop-in for lua5.4", function()
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. q(dir)))
    write_file("hello.lua", 'print("hello", ...)\nio.write("no newline")\n')
    write_file("err_string.lua", 'local function f() error("broken") end\nf()\n')
    write_file("err_table.lua", 'error({code = 1})\n')
    write_file("err_tostring.lua",
               'error(setmetatable({}, {__tostring = function() return "custom!" end}))\n')
    write_file("syntax.lua", 'print("ok"\nlocal = 1\n')
    write_file("args.lua",
               'local lo = 0 while arg[lo - 1] do lo = lo - 1 end\n'
               .. 'print("n", #arg, "lo", lo, "script", arg[0])\n'
               .. 'for i = lo + 1, #arg do print(i, arg[i]) end\n'
               .. 'print("varargs", select("#", ...), ...)\n')
    write_file("mymod.lua", 'print("loading mymod", ...)\nreturn {answer = 42}\n')
    write_file("init.lua", 'print("init file ran")\ninit_value = 7\n')
    write_file("exit.lua", 'local how = ...\n'
               .. 'if how == "3" then os.exit(3) elseif how == "true" then os.exit(true)\n'
               .. 'elseif how == "false" then os.exit(false) else os.exit(0, true) end\n')
    write_file("stdin.lua", 'local n, bytes = 0, 0\n'
               .. 'for line in io.lines() do n = n + 1 bytes = bytes + #line end\n'
               .. 'print(n, bytes)\n')
    write_file("warn.lua", 'warn("first")\nwarn("@off")\nwarn("hidden")\nwarn("@on")\n'
               .. 'warn("a ", "b")\n')
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("runs a script with arguments", function()
    local out = same("hello.lua a b")
    assert.equal("hello\ta\tb\nno newline", out)
  end)

  it("reports errors with a traceback and status 1", function()
    local _, err, code = same("err_string.lua")
    assert.equal(1, code)
    assert.truthy(err:find("broken", 1, true))
    assert.truthy(err:find("stack traceback:", 1, true))
    _, err = same("err_table.lua")
    assert.truthy(err:find("(error object is a table value)", 1, true))
    _, err = same("err_tostring.lua")
    assert.truthy(err:find("custom!", 1, true))
  end)

  it("reports syntax errors", function()
    local _, err, code = same("syntax.lua")
    assert.equal(1, code)
    assert.truthy(err:find("syntax.lua:2:", 1, true))
  end)

  it("reports a missing script", function()
    local _, _, code = same("no_such_file.lua")
    assert.equal(1, code)
  end)

  it("runs -e statements in order, with errors", function()
    assert.equal("1\n2\n", same("-e 'print(1)' -e 'print(2)'"))
    local _, _, code = same("-e 'error(\"x\")'")
    assert.equal(1, code)
    same("-e 'x = ' ") -- syntax error in -e
    same("-e", {stderr = false}) -- missing argument: usage (which lists -X too)
  end)

  it("loads modules with -l mod and -l g=mod", function()
    local env = {env = "LUA_PATH=" .. q(dir .. "/?.lua")}
    assert.equal("loading mymod\tmymod\t" .. dir .. "/mymod.lua\n42\n",
                 same("-l mymod -e 'print(mymod.answer)'", env))
    assert.equal("loading mymod\tmymod\t" .. dir .. "/mymod.lua\n42\tnil\n",
                 same("-l g=mymod -e 'print(g.answer, mymod)'", env))
    local _, _, code = same("-l no_such_module", env)
    assert.equal(1, code)
  end)

  it("prints the version with -v: tlua's line, then lua's", function()
    local lua_out = execute("lua5.4", "-v")
    local out, _, code = tlua("-X gil=0 -v")
    assert.equal(0, code)
    assert.equal("tlua " .. threading._VERSION .. " (Lua 5.4." .. lua_out:match("^Lua 5%.4%.(%d+)") ..
                 "), GIL off\n" .. lua_out, out)
    assert.truthy(lua_out:find("PUC%-Rio\n$"), lua_out) -- Lua's test suite looks for it
  end)

  it("rejects unknown options with the usage and status 1", function()
    local _, _, code = execute(q(TLUA), "-z")
    assert.equal(1, code)
  end)

  it("builds the arg table, negative indices included", function()
    local out = same("-e 'x=1' args.lua one two")
    assert.truthy(out:find("n\t2\tlo\t-3\tscript\targs.lua\n", 1, true), out)
    assert.truthy(out:find("-2\t-e\n-1\tx=1\n0\targs.lua\n1\tone\n2\ttwo\n", 1, true), out)
    assert.truthy(out:find("varargs\t2\tone\ttwo", 1, true), out)
  end)

  it("stops handling options at --", function()
    local out = same("-- args.lua -e")
    assert.truthy(out:find("1\t-e\n", 1, true), out)
  end)

  it("runs stdin with -", function()
    local out = same("- x y", {stdin = 'print("from stdin", ...)\n'})
    assert.equal("from stdin\tx\ty\n", out)
    out = same("", {stdin = 'print("no args: stdin too")\n'})
    assert.equal("no args: stdin too\n", out)
  end)

  it("lets a script read stdin", function()
    assert.equal("3\t11\n", same("stdin.lua", {stdin = "one\ntwo\nthree\n"}))
  end)

  it("runs LUA_INIT, as code or @file, and ignores it with -E", function()
    assert.equal("init code\nmain\n", same("-e 'print(\"main\")'",
                                           {env = "LUA_INIT='print(\"init code\")'"}))
    local env = {env = "LUA_INIT=@" .. q(path("init.lua"))}
    assert.equal("init file ran\n7\n", same("-e 'print(init_value)'", env))
    assert.equal("nil\n", same("-E -e 'print(init_value)'", env))
    assert.equal("5.4 wins\n", same("-e ''", {env = "LUA_INIT='print(1)' LUA_INIT_5_4='print(\"5.4 wins\")'"}))
    local _, _, code = same("-e ''", {env = "LUA_INIT='error(\"bad init\")'"})
    assert.equal(1, code)
  end)

  it("turns warnings on with -W", function()
    local _, err = same("-W warn.lua")
    assert.equal("Lua warning: first\nLua warning: a b\n", err)
    _, err = same("warn.lua")
    assert.equal("Lua warning: a b\n", err)
  end)

  it("exits with os.exit's status", function()
    assert.equal(3, select(3, same("exit.lua 3")))
    assert.equal(0, select(3, same("exit.lua true")))
    assert.equal(1, select(3, same("exit.lua false")))
    assert.equal(0, select(3, same("exit.lua close")))
  end)
end)

describe_host("tlua's own options and threads at exit", function()
  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. q(dir)))
    write_file("gil.lua", 'local t = require "threading"\n'
               .. 'print(t.gil_enabled(), t.getswitchinterval())\n')
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("chooses the GIL with -X gil= and TLUA_GIL, the option winning", function()
    assert.equal("true\t0.005\n", (tlua("-X gil=1 gil.lua")))
    assert.equal("false\t0.005\n", (tlua("-X gil=0 gil.lua")))
    assert.equal("true\t0.005\n", (tlua("gil.lua", {env = "TLUA_GIL=1"})))
    assert.equal("false\t0.005\n", (tlua("gil.lua", {env = "TLUA_GIL=0"})))
    assert.equal("false\t0.005\n", (tlua("-X gil=0 gil.lua", {env = "TLUA_GIL=1"})))
    assert.equal("true\t0.005\n", (tlua("-X gil=1 gil.lua", {env = "TLUA_GIL=0"})))
    assert.equal("true\t0.02\n", (tlua("-X gil=1 -X switchinterval=0.02 gil.lua")))
  end)

  it("rejects a bad -X option with status 1", function()
    for _, bad in ipairs{"-X gil=2", "-X nonsense=1", "-X switchinterval=-1", "-X"} do
      local out, err, code = tlua(bad .. " gil.lua")
      assert.equal(1, code, bad)
      assert.equal("", out, bad)
      assert.truthy(err:find("tlua: ", 1, true), bad)
    end
  end)

  it("waits for a non-daemon thread at the end of the main chunk", function()
    write_file("nondaemon.lua", [[
      local threading = require "threading"
      local t = threading.Thread(function()
        threading.sleep(0.2)
        print("thread finished")
      end)
      t:start()
      print("main chunk done")
    ]])
    local out, _, code = tlua("nondaemon.lua")
    assert.equal("main chunk done\nthread finished\n", out)
    assert.equal(0, code)
  end)

  it("waits for non-daemon threads after an uncaught error too, then exits with 1", function()
    write_file("error_wait.lua", [[
      local threading = require "threading"
      threading.Thread(function()
        threading.sleep(0.2)
        print("thread finished")
      end):start()
      error("main failed")
    ]])
    local out, err, code = tlua("error_wait.lua")
    assert.equal("thread finished\n", out)
    assert.truthy(err:find("main failed", 1, true))
    assert.equal(1, code)
  end)

  it("does not wait for a daemon thread blocked forever", function()
    write_file("daemon.lua", [[
      local threading = require "threading"
      local never = threading.Event()
      local started = threading.Event()
      threading.Thread{daemon = true, target = function()
        started:set()
        never:wait()
        print("never printed")
      end}:start()
      started:wait()
      print("main done")
    ]])
    local out, _, code, seconds = tlua("daemon.lua")
    assert.equal("main done\n", out)
    assert.equal(0, code)
    assert.is_true(seconds < 10, "took " .. seconds .. " s")
  end)

  it("prints whole lines from many threads", function()
    write_file("print_lines.lua", [[
      local threading = require "threading"
      local threads = {}
      for id = 1, 8 do
        threads[id] = threading.Thread(function()
          local letter = string.char(64 + id)
          for i = 1, 200 do
            if i % 2 == 0 then
              print(id, string.rep(letter, 60), i)
            else
              io.write(id, "\t", string.rep(letter, 60), "\t", i, "\n")
            end
          end
        end)
        threads[id]:start()
      end
      for _, t in ipairs(threads) do t:join() end
    ]])
    local out, err, code = tlua("print_lines.lua")
    assert.equal(0, code, err)
    local count, per_thread = 0, {}
    for line in out:gmatch("([^\n]*)\n") do
      local id, text, i = line:match("^(%d)\t(%u+)\t(%d+)$")
      assert(id and text == string.rep(string.char(64 + tonumber(id)), 60), "torn line: " .. line)
      per_thread[id] = (per_thread[id] or 0) + 1
      count = count + 1
    end
    assert.equal(1600, count)
    for id = 1, 8 do assert.equal(200, per_thread[tostring(id)]) end
  end)
end)
