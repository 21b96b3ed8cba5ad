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

return M
