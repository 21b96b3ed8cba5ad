-- tests/examples_spec.lua -- the ports of the tutorials' Python examples
-- (scripts/examples/) run under $TLUA and give the output they should:
-- one test per example, checked by scripts/check-examples in fast mode
-- (EXAMPLE_FAST=1), with the GIL mode of this run (TLUA_GIL is inherited).
-- When this spec runs under stock lua5.4 (TLUA_HOST=lua5.4, set by ctest),
-- the examples run under lua5.4 with threading.so too.
-- An example that uses a threading.NAME the build does not provide yet is
-- pending, not failed. Skipped entirely when TLUA is unset (ctest sets it).
local TLUA = os.getenv("TLUA")
local ROOT = os.getenv("TLUA_SOURCE_DIR") or "."

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function read_command(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

describe("the example ports", function()
  if TLUA == nil or TLUA == "" then
    pending("TLUA is not set: run through ctest, or set TLUA=path/to/tlua")
    return
  end

  local check = shell_quote(TLUA) .. " " .. shell_quote(ROOT .. "/scripts/check-examples")
  local names = {}
  for name in read_command(check .. " --list"):gmatch("%S+") do names[#names + 1] = name end

  it("are found", function()
    assert.is_true(#names > 0, "no example listed by scripts/check-examples --list")
  end)

  -- One run of the checker for all examples (they run a few at a time, in
  -- parallel); each test below reads its example's verdict.
  local verdicts
  local function verdict(name)
    if not verdicts then
      verdicts = {}
      local host = os.getenv("TLUA_HOST") == "lua5.4" and " --lua=lua5.4" or ""
      local report = read_command(check .. " --fast --gil=env --skip-missing --jobs=4 --tlua="
                                  .. shell_quote(TLUA) .. host .. " 2>&1")
      for line in report:gmatch("[^\n]+") do
        local status, n, reason = line:match("^(%a+) +(%S+) gil=%S+:? ?(.*)$")
        if status then verdicts[n] = {status = status, reason = reason} end
      end
      verdicts.report = report
    end
    return verdicts[name] or {status = "missing", reason = "no verdict in:\n" .. verdicts.report}
  end

  for _, name in ipairs(names) do
    it(name, function()
      local v = verdict(name)
      if v.status == "skip" then
        pending(name .. ": " .. v.reason)
      else
        assert(v.status == "ok", name .. ": " .. v.reason)
      end
    end)
  end
end)
