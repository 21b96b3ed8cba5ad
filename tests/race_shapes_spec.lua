-- The race shapes of scripts/experiments/race_shapes.lua: where can the GIL
-- change hands inside an unguarded read-modify-write of a shared counter?
-- CPython 3.10-3.13 (measured) switch only at a backward jump, at a Python
-- function's entry and right after a C function returns, so with the GIL:
--   1  c.n = c.n + 1               loses nothing
--   2  local v = c.n / c.n = v + 1 loses nothing
--   3  c.n = add1(c.n)             loses updates (the call enters a function)
--   4  c.n = math.abs(c.n) + 1     loses updates (a C call returns in between)
-- tlua switches at new lines today, which splits shape 2 and not shape 4:
-- those two run only with TLUA_SWITCHPOINTS=cpython, once tlua switches
-- where CPython does.
--
-- Runs are bounded by forced GIL switches, not by a count: each thread
-- increments in chunks until the process has seen SWITCHES more forced
-- switches (or DEADLINE seconds passed), so a loaded machine only makes
-- a run longer.  About 0.3 s per shape on 2 cores.
local threading = require "threading"

local SWITCHES = 40 -- forced switches per run: each may split a read-modify-write
local DEADLINE = 1.5 -- seconds, in case switches are rare
local CHUNK = 2000
local cpython_switchpoints = os.getenv("TLUA_SWITCHPOINTS") == "cpython"

local function add1(x) return x + 1 end

-- The workers.  Each returns how many increments it made.  The loop that
-- runs the shape, and the check that ends it, are on the shape's own
-- line(s): a line-based switch point can then only be a backward jump or a
-- function entry, never the start of the bookkeeping's lines.  Shapes 1, 3
-- and 4 are written on one line for the same reason: today a thread's
-- first forced switch can fire at any instruction of a line (see the last
-- test), and on a single line no instruction starts a new one.
local function shape1(c, start, stop_at, deadline) start:wait(); local done = 0; repeat for _ = 1, CHUNK do c.n = c.n + 1 end; done = done + CHUNK until c.stop or threading.gil_stats().forced_switches >= stop_at or threading.monotonic() > deadline; c.stop = true; return done end

local function shape2(c, start, stop_at, deadline)
  start:wait(); local done = 0; repeat for _ = 1, CHUNK do
    local v = c.n
    c.n = v + 1
  end; done = done + CHUNK until c.stop or threading.gil_stats().forced_switches >= stop_at or threading.monotonic() > deadline; c.stop = true; return done
end

local function shape3(c, start, stop_at, deadline) start:wait(); local done = 0; repeat for _ = 1, CHUNK do c.n = add1(c.n) end; done = done + CHUNK until c.stop or threading.gil_stats().forced_switches >= stop_at or threading.monotonic() > deadline; c.stop = true; return done end

local function shape4(c, start, stop_at, deadline) start:wait(); local done = 0; repeat for _ = 1, CHUNK do c.n = math.abs(c.n) + 1 end; done = done + CHUNK until c.stop or threading.gil_stats().forced_switches >= stop_at or threading.monotonic() > deadline; c.stop = true; return done end

-- Runs the worker in nthreads threads; returns lost updates, increments
-- made, and forced GIL switches seen.
local function race(worker, nthreads)
  local c = threading.shared{n = 0}
  local start = threading.Barrier(nthreads)
  local base = threading.gil_stats().forced_switches
  local deadline = threading.monotonic() + DEADLINE
  local ts = {}
  for i = 1, nthreads do
    ts[i] = threading.Thread(worker, c, start, base + SWITCHES, deadline):start()
  end
  local made = 0
  for i = 1, nthreads do
    assert(ts[i]:join(30), "a racing thread did not finish")
    made = made + ts[i]:result()
  end
  return made - c.n, made, threading.gil_stats().forced_switches - base
end

-- With the GIL on, a run of the worker loses no update / loses some.
local function none_lost(worker)
  local lost, made, switches = race(worker, 2)
  assert.is_true(switches >= 5, ("only %d forced switches: the run proves nothing"):format(switches))
  assert.equal(0, lost, ("lost %d of %d updates over %d forced switches"):format(lost, made, switches))
end

local function some_lost(worker)
  local lost, made, switches = race(worker, 2)
  assert.is_true(lost > 0, ("no update lost of %d over %d forced switches"):format(made, switches))
end

-- Whether a GIL-on test runs: not with the GIL off, and, when it needs
-- CPython's switch points ('why' says why today's do not do), only with
-- TLUA_SWITCHPOINTS=cpython.
local function runs(why)
  if not threading.gil_enabled() then
    pending("GIL on only (TLUA_GIL=1)")
    return false
  end
  if why and not cpython_switchpoints then
    pending(why .. "; runs with TLUA_SWITCHPOINTS=cpython")
    return false
  end
  return true
end

describe("race shapes with the GIL on", function()
  it("1: c.n = c.n + 1 loses no update", function()
    if runs() then none_lost(shape1) end
  end)

  it("3: c.n = add1(c.n) loses updates", function()
    if runs() then some_lost(shape3) end
  end)

  it("2: local v = c.n / c.n = v + 1 loses no update (CPython's switch points)", function()
    if runs("tlua switches at new lines today, which splits this shape") then none_lost(shape2) end
  end)

  it("4: c.n = math.abs(c.n) + 1 loses updates (CPython's switch points)", function()
    if runs("tlua does not switch right after a C call returns today") then some_lost(shape4) end
  end)

  -- A thread's first forced switch: the switch hook is armed from a signal,
  -- and Lua's record of the last line event (L->oldpc) is stale then, so
  -- with today's line hook the first event can fire in the middle of a
  -- line: a few percent of such short runs lose a switch interval's worth
  -- of updates.  CPython has no such case.  RUNS runs of two fresh threads
  -- (written over several lines), with a 1 ms switch interval so that
  -- each thread is switched out at least once per run.
  it("1: no update lost at the first forced switch of fresh threads (CPython's switch points)", function()
    if not runs("the first switch of a thread can split a line today") then return end
    local function fresh(c, start, times)
      start:wait()
      for _ = 1, times do
        c.n = c.n + 1
      end
    end
    local RUNS, TIMES = 150, 20000
    local interval = threading.getswitchinterval()
    threading.setswitchinterval(0.001)
    local lost, runs_losing, switches = 0, 0, threading.gil_stats().forced_switches
    for _ = 1, RUNS do
      local c = threading.shared{n = 0}
      local start = threading.Barrier(2)
      local a = threading.Thread(fresh, c, start, TIMES):start()
      local b = threading.Thread(fresh, c, start, TIMES):start()
      assert(a:join(30) and b:join(30), "a racing thread did not finish")
      if c.n ~= 2 * TIMES then
        lost, runs_losing = lost + 2 * TIMES - c.n, runs_losing + 1
      end
    end
    threading.setswitchinterval(interval)
    switches = threading.gil_stats().forced_switches - switches
    assert.equal(0, lost, ("%d of %d runs lost updates (%d forced switches)"):format(runs_losing, RUNS, switches))
  end)
end)

describe("race shapes with the GIL off", function()
  -- Rounds of 2 x 100000 increments until one loses updates: on 2 cores
  -- nearly every round does; squeezed onto one core (taskset -c 0) about a
  -- quarter of short rounds lose none, so a single round would not be a
  -- reliable test, but within 1.5 s of rounds one always has.
  it("1: c.n = c.n + 1 loses updates with 2 threads", function()
    if threading.gil_enabled() then
      pending("GIL off only (TLUA_GIL=0)")
      return
    end
    local function plain(c, start, times)
      start:wait()
      for _ = 1, times do c.n = c.n + 1 end
    end
    local deadline = threading.monotonic() + DEADLINE
    local lost, rounds = 0, 0
    repeat
      local c = threading.shared{n = 0}
      local start = threading.Barrier(2)
      local a = threading.Thread(plain, c, start, 100000):start()
      local b = threading.Thread(plain, c, start, 100000):start()
      assert(a:join(30) and b:join(30), "a racing thread did not finish")
      lost, rounds = 200000 - c.n, rounds + 1
    until lost > 0 or threading.monotonic() > deadline
    assert.is_true(lost > 0, ("no update lost in %d rounds"):format(rounds))
  end)
end)
