-- Helpers shared by the specs (tests/ is on LUA_PATH under ctest).
local M = {}

-- The interpreter for child processes: ctest sets TLUA_HOST and TLUA.
function M.interpreter()
  if os.getenv("TLUA_HOST") ~= "lua5.4" and os.getenv("TLUA") then return os.getenv("TLUA") end
  return "lua5.4"
end

function M.shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Runs a Lua script in a child process; returns its output (stdout and
-- stderr) and whether it exited with status 0.
function M.run_child(script)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(script)
  f:close()
  local cmd = ("LUA_CPATH=%s %s %s 2>&1"):format(M.shell_quote(package.cpath), M.shell_quote(M.interpreter()),
                                               M.shell_quote(path))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local ok = p:close()
  os.remove(path)
  return out, ok
end

-- Runs a shell command line; returns its stdout, its stderr and its exit
-- status (128 + N when killed by signal N).
function M.execute(cmd)
  local out, err = os.tmpname(), os.tmpname()
  local _, how, code = os.execute(("(%s) >%s 2>%s </dev/null"):format(cmd, M.shell_quote(out), M.shell_quote(err)))
  local texts = {}
  for k, path in ipairs{out, err} do
    local f = assert(io.open(path, "rb"))
    texts[k] = f:read("a")
    f:close()
    os.remove(path)
  end
  return texts[1], texts[2], how == "signal" and 128 + code or code
end

-- A new empty directory; remove it with os.execute("rm -rf " .. shell_quote(dir)).
function M.temp_dir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. M.shell_quote(dir)))
  return dir
end

-- pcall(f, ...) must fail: returns the error as a string.
function M.error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "an error was expected, the call succeeded")
  return tostring(err)
end

-- The same, returning the error value itself.
function M.error_value(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "an error was expected, the call succeeded")
  return err
end

function M.assert_contains(text, part)
  assert(tostring(text):find(part, 1, true), ("%q does not contain %q"):format(tostring(text), part))
end

-- Starts f(...) in a new thread; returns the thread.
function M.spawn(f, ...) return require("threading").Thread(f, ...):start() end

-- Joins t (bounded) and returns its results, re-raising its error.
function M.finish(t)
  assert(t:join(30), "thread did not finish")
  return t:result()
end

-- Runs f(...) in a new thread, joins it and returns its results.
function M.run(f, ...) return M.finish(M.spawn(f, ...)) end

function M.join_all(threads)
  for _, t in ipairs(threads) do assert(t:join(30), "thread did not finish") end
end

-- --- known defects (TLUA_DEFECTS) -------------------------------------------

-- helpers.defects(it, pending) -> defect(id, name, fn): fn is the spec of
-- known defect 'id' of issue 13: its number (5), or "N.k" for another
-- instance of defect N's class found later ("10.1").  It runs as a normal
-- test when TLUA_DEFECTS is "all" or lists the id (TLUA_DEFECTS=1,5,10.1),
-- and is pending otherwise, so the suite stays green while each fix turns
-- its spec on.
function M.defects(it, pending)
  local enabled = {}
  for id in (os.getenv("TLUA_DEFECTS") or ""):gmatch("[^,%s]+") do enabled[id] = true end
  return function(id, name, fn)
    if enabled.all or enabled[tostring(id)] then
      it(name, fn)
    else
      pending(("%s [known defect #%s: TLUA_DEFECTS=%s runs it]"):format(name, id, id))
    end
  end
end

-- --- child processes that may hang or crash --------------------------------

M.CHILD_TIMEOUT = 10 -- seconds: a hang fails the spec (passing cases take < 1 s)

function M.write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

function M.read_file(path)
  local f = io.open(path, "r")
  if f == nil then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.tmpdir()
  local path = os.tmpname()
  os.remove(path)
  assert(os.execute("mkdir " .. M.shell_quote(path)))
  return path
end

-- Runs 'source' as a script in a child process (this run's interpreter,
-- LUA_PATH/LUA_CPATH from this state; the GIL mode through TLUA_GIL),
-- bounded by `timeout`.  Extra command-line words may come before the
-- script ('opts') and after it ('args'), and environment settings ('env',
-- "NAME=value ...") before the command.  Returns the output (stdout and
-- stderr together) and the exit status (124: timed out, 139: segfault).
function M.run_timeout(source, args, opts, env)
  local path = os.tmpname()
  M.write_file(path, source)
  local cmd = ("%s LUA_PATH=%s LUA_CPATH=%s timeout %d %s %s %s %s 2>&1; echo \"exit=$?\""):format(
    env or "", M.shell_quote(package.path), M.shell_quote(package.cpath), M.CHILD_TIMEOUT,
    M.shell_quote(M.interpreter()), opts or "", M.shell_quote(path), args or "")
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  os.remove(path)
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return (out:gsub("exit=%d+%s*$", "")), status
end

function M.assert_exit(expected, status, out)
  assert(status == expected, ("exit status %s (expected %d; 124 = hung), output:\n%s"):format(
    tostring(status), expected, out))
end

function M.assert_matches(pattern, text)
  assert(tostring(text):find(pattern), ("%q does not match %q"):format(tostring(text), pattern))
end

function M.assert_not_matches(pattern, text)
  assert(not tostring(text):find(pattern), ("%q should not match %q"):format(tostring(text), pattern))
end

-- Waits (bounded: 'seconds', default 10) until threading._live_objects() is
-- back to 'live' or below, collecting garbage: an ended thread drops its own
-- reference just after join() returns.  Returns whether it got there.
function M.settles_to(live, seconds)
  local threading = require "threading"
  local deadline = threading.monotonic() + (seconds or 10)
  repeat
    collectgarbage() collectgarbage()
    if threading._live_objects() <= live then return true end
    threading.sleep(0.005)
  until threading.monotonic() > deadline
  return false
end

return M
