-- scripts/bench/workloads/transfer.lua KIND COUNT REPS: the cost of copying a value
-- to another thread, against building the same value in one state.
--   KIND string: a 1 MiB string (string.rep of a 1 KiB piece: memcpy speed);
--   KIND table:  a 10,000-entry array of integers (built by a loop).
-- Transfer: the main thread puts a value into a Queue (encoding), then a
-- consumer thread gets it (decoding), one value at a time; each side times
-- its own call and the hand-off between them is not timed, so the sum is
-- the CPU cost of moving a value across.  One value at a time, as build
-- does, so that neither side measures the page faults of tens of MiB of
-- fresh memory (all COUNT values queued at once did: the figures then
-- followed malloc's mmap threshold more than the copy).
-- Build: the same value made COUNT times in one state, one at a time.
-- Prints microseconds per value for both ("transfer_us", "build_us"),
-- medians of REPS alternating runs, and their median ratio.
--   KIND roundtrip: a 10,000-entry table of 20-byte strings sent to a thread
--   and back (Queue put, get, put, get), COUNT times in each of REPS runs;
--   prints the median round trip in milliseconds ("round_trip_ms"): two
--   encodes and two decodes, the decodes interning every string.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local kind, count, reps = arg[1], lib.int_arg(2, 50), lib.int_arg(3, 3)
if not threading.Queue then print("skip threading.Queue not implemented") return end

if kind == "roundtrip" then
  local strings = {}
  for i = 1, 10000 do strings[i] = string.format("string number %06d", i) end
  local to, back = threading.Queue(), threading.Queue()
  local echo = threading.Thread(function(inbox, outbox)
    for v in function() return inbox:get() or nil end do outbox:put(v) end -- false ends it
  end, to, back)
  echo:start()
  local times = {}
  for _ = 1, reps * count do
    local t0 = threading.monotonic()
    to:put(strings)
    local got = back:get()
    times[#times + 1] = threading.monotonic() - t0
    assert(#got == #strings and got[#got] == strings[#strings])
  end
  to:put(false)
  echo:join()
  lib.report("round_trip_ms", lib.median(times) * 1e3)
  return
end

local builders = {
  string = function(i) return string.rep(string.rep(string.char(65 + i % 26), 1024), 1024) end,
  table = function(i)
    local t = {}
    for k = 1, 10000 do t[k] = k + i end
    return t
  end,
}
local build = assert(builders[kind], "unknown kind")

-- Gets each value when told it is there: its q:get() never waits.
local function consume(q, n, ready, taken, result)
  local spent = 0
  for _ = 1, n do
    ready:acquire()
    local t0 = threading.monotonic()
    assert(q:get())
    spent = spent + (threading.monotonic() - t0)
    taken:release()
  end
  result:put(spent)
end

local transfer, built, ratio = {}, {}, {}
for r = 1, reps do
  -- the values are made before the clock starts: only the copy is timed
  local values = {}
  for i = 1, count do values[i] = build(i) end
  local q, result = threading.Queue(), threading.Queue()
  local ready, taken = threading.Semaphore(0), threading.Semaphore(0)
  local consumer = threading.Thread(consume, q, count, ready, taken, result)
  consumer:start()
  local put_time = 0
  for i = 1, count do
    local t0 = threading.monotonic()
    q:put(values[i])
    put_time = put_time + (threading.monotonic() - t0)
    ready:release()
    taken:acquire()
  end
  values = nil
  local get_time = result:get()
  consumer:join()
  collectgarbage()
  transfer[r] = (put_time + get_time) / count * 1e6

  local build_time = 0
  for i = 1, count do
    local t0 = threading.monotonic()
    local value = build(i)
    build_time = build_time + (threading.monotonic() - t0)
    assert(value)
  end
  built[r] = build_time / count * 1e6
  collectgarbage()
  ratio[r] = transfer[r] / built[r]
end
lib.report("transfer_us", lib.median(transfer))
lib.report("build_us", lib.median(built))
lib.report("ratio", lib.median(ratio))
