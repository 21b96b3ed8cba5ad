-- Race shapes: where can the GIL change hands inside a read-modify-write?
-- N threads each add 1 to a threading.shared counter `increments` times,
-- in four shapes.  Each read and each write of c.n is atomic; an update is
-- lost when a thread is switched out between its read and its write.
--
--   1  c.n = c.n + 1                   one statement       (CPython: n += 1)
--   2  local v = c.n / c.n = v + 1     two statements      (v = n; n = v + 1)
--   3  c.n = add1(c.n)                 a Lua function call (n = add1(n))
--   4  c.n = math.abs(c.n) + 1         a C function call   (n = abs(n) + 1)
--
-- With the GIL off every shape loses updates: the threads really run at
-- once.  With it on, only a switch between the read and the write loses
-- one, so the figures show where a forced switch can happen.  CPython
-- 3.10 and later (measured: 3.10-3.13) switch only at a backward jump, at
-- the entry of a Python function and right after a call to a C function
-- returns: shapes 1 and 2 lose nothing, 3 and 4 lose many.  CPython 3.9
-- and earlier could switch after almost any bytecode, so all four lose.
-- A tlua that switches at the start of any new line splits shape 2 and
-- not shape 4: the last column shows whether tlua and CPython agree.
--
-- The same shapes run in CPython when python3 (and python3.13) can be
-- found (on the PATH, or installed by pyenv), from race_shapes.py next to
-- this script; RACE_PYTHONS="cmd ..." picks the interpreters instead.
--
--   tlua scripts/experiments/race_shapes.lua [increments] [--no-python]
--     increments per thread: default 1000000 (about 15 s of tlua and 5 s of
--     CPython per interpreter on 2 cores).  Both GIL modes run, whatever -X gil says.
local threading = require "threading"

local increments, use_python = 1000000, true
for _, a in ipairs(arg) do
  if a == "--no-python" then use_python = false
  elseif tonumber(a) and math.tointeger(tonumber(a)) then increments = math.tointeger(tonumber(a))
  else
    io.stderr:write("usage: tlua race_shapes.lua [increments] [--no-python]\n")
    os.exit(2)
  end
end

local SHAPES = {
  {lua = "c.n = c.n + 1", py = "n += 1", cpython = 0},
  {lua = "local v = c.n; c.n = v + 1", py = "v = n; n = v + 1", cpython = 0},
  {lua = "c.n = add1(c.n)", py = "n = add1(n)", cpython = 1},
  {lua = "c.n = math.abs(c.n) + 1", py = "n = abs(n) + 1", cpython = 1},
}
local THREADS = {2, 4}

local function add1(x) return x + 1 end

-- Each shape is written exactly as in the table: where the lines break
-- matters to a GIL that switches at new lines.
local function work(shape, c, times, start)
  start:wait()
  if shape == 1 then
    for _ = 1, times do c.n = c.n + 1 end
  elseif shape == 2 then
    for _ = 1, times do
      local v = c.n
      c.n = v + 1
    end
  elseif shape == 3 then
    for _ = 1, times do c.n = add1(c.n) end
  else
    for _ = 1, times do c.n = math.abs(c.n) + 1 end
  end
end

-- Runs one shape; returns the counter's final value.
local function run(shape, nthreads)
  local c = threading.shared{n = 0}
  local start = threading.Barrier(nthreads) -- all begin together
  local ts = {}
  for i = 1, nthreads do ts[i] = threading.Thread(work, shape, c, increments, start):start() end
  for i = 1, nthreads do ts[i]:join() end
  return c.n
end

-- Lost updates in %, by [gil][shape][threads].
local function measure_tlua()
  local was_on = threading.gil_enabled()
  local lost = {}
  for _, gil in ipairs({true, false}) do
    threading.set_gil(gil)
    lost[gil] = {}
    for shape = 1, #SHAPES do
      lost[gil][shape] = {}
      for _, n in ipairs(THREADS) do
        local expected = n * increments
        lost[gil][shape][n] = 100 * (expected - run(shape, n)) / expected
      end
    end
  end
  threading.set_gil(was_on)
  return lost
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The CPython interpreters to compare with: {cmd=, version=}, one per version.
local function find_pythons()
  local cmds = {}
  local listed = os.getenv("RACE_PYTHONS")
  if listed then
    for cmd in listed:gmatch("%S+") do cmds[#cmds + 1] = cmd end
  else
    cmds = {"python3", "python3.13"}
  end
  local function version_of(cmd)
    local p = io.popen(cmd .. [[ -c "import sys; print(sys.version.split()[0])" 2>/dev/null]])
    local version = p and p:read("l")
    if p then p:close() end
    return version and version:match("^%d+%.%d+[%w.]*$") and version
  end
  -- A pyenv shim answers only for the selected version: ask pyenv where
  -- an installed python3.X lives.
  local function from_pyenv(cmd)
    local minor = cmd:match("^python(3%.%d+)$")
    local p = minor and io.popen("pyenv root 2>/dev/null && pyenv versions --bare 2>/dev/null")
    if not p then return nil end
    local root, best = p:read("l"), nil
    for v in p:lines() do
      if v:sub(1, #minor + 1) == minor .. "." then best = v end
    end
    p:close()
    return root and best and ("%s/versions/%s/bin/%s"):format(root, best, cmd)
  end
  local found, seen = {}, {}
  for _, cmd in ipairs(cmds) do
    local version = version_of(cmd)
    if not version then
      cmd = from_pyenv(cmd)
      version = cmd and version_of(cmd)
    end
    if version and not seen[version] then
      seen[version] = true
      found[#found + 1] = {cmd = cmd, version = version}
    end
  end
  return found
end

-- Lost updates in %, by [shape][threads], from race_shapes.py --raw.
local function measure_python(py, script)
  local p = io.popen(("%s %s %d --raw 2>&1"):format(py.cmd, shell_quote(script), increments))
  local lost, output = {}, {}
  for line in p:lines() do
    output[#output + 1] = line
    local shape, n, expected, got = line:match("^row (%d+) (%d+) (%d+) (%d+)")
    if shape then
      shape, n = tonumber(shape), tonumber(n)
      lost[shape] = lost[shape] or {}
      lost[shape][n] = 100 * (tonumber(expected) - tonumber(got)) / tonumber(expected)
    end
  end
  p:close()
  if not lost[1] then
    io.stderr:write(("race_shapes: %s failed:\n%s\n"):format(py.cmd, table.concat(output, "\n")))
    return nil
  end
  return lost
end

local pythons = {}
if use_python then
  local script = (arg[0]:match("^(.*)/") or ".") .. "/race_shapes.py"
  for _, py in ipairs(find_pythons()) do
    py.lost = measure_python(py, script)
    if py.lost then pythons[#pythons + 1] = py end
  end
end
local lost = measure_tlua()

print(("Race shapes: lost updates, %d cores, %d increments per thread, switch interval %g ms")
      :format(threading._cpu_count(), increments, threading.getswitchinterval() * 1000))
local head = ("%-2s %-28s %7s %10s %12s %12s"):format("", "shape (tlua)", "threads", "expected",
                                                     "tlua GIL on", "tlua GIL off")
for _, py in ipairs(pythons) do head = head .. ("%16s"):format("CPython " .. py.version) end
print(head .. "   GIL on: tlua vs CPython 3.10+")
local differ = 0
for shape, s in ipairs(SHAPES) do
  for _, n in ipairs(THREADS) do
    local on = lost[true][shape][n]
    local row = ("%-2d %-28s %7d %10d %11.2f%% %11.2f%%"):format(shape, s.lua, n, n * increments, on,
                                                              lost[false][shape][n])
    for _, py in ipairs(pythons) do row = row .. ("%15.2f%%"):format(py.lost[shape][n]) end
    local same = (on > 0) == (s.cpython > 0)
    if not same then differ = differ + 1 end
    print(row .. ("   %s (CPython: %s)"):format(same and "same" or "DIFFERS",
                                                s.cpython > 0 and "loses" or "none lost"))
  end
end
if #pythons == 0 and use_python then
  print("(no python3 found: CPython's figures are those measured for 3.10-3.13, see the last column)")
end
print()
print("CPython 3.10+ drops the GIL only at a backward jump, at a Python function's entry and")
print("right after a C function returns: the one- and two-statement increments are never")
print("split (by luck, not by guarantee), a call between the read and the write is.")
if differ == 0 then
  print("tlua with the GIL on splits the same shapes as CPython.")
else
  print(("tlua with the GIL on differs from CPython in %d row(s): it switches at other points"):format(differ))
  print("(a new line splits shape 2; a C call that returns does not split shape 4).")
end
print("With the GIL off every shape loses updates: only a Lock makes them safe.")
