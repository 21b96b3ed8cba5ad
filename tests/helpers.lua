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

return M
