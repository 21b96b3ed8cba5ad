-- scripts/bench/workloads/transfer.lua KIND COUNT REPS: the cost of copying a value
-- to another thread, against building the same value in one state.
--   KIND string: a 1 MiB string (string.rep of a 1 KiB piece: memcpy speed);
--   KIND table:  a 10,000-entry array of integers (built by a loop).
-- Transfer: the main thread puts COUNT copies into a Queue (encoding),
-- then a consumer thread gets them all (decoding); the two phases do not
-- overlap, so their sum is the whole CPU cost of moving a value across.
-- Build: the same value made COUNT times in one state.
-- Prints microseconds per value for both ("transfer_us", "build_us"),
-- medians of REPS alternating runs, and their median ratio.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local kind, count, reps = arg[1], lib.int_arg(2, 50), lib.int_arg(3, 3)
if not threading.Queue then print("skip threading.Queue not implemented") return end

local builders = {
  string = function(i) return string.rep(string.rep(string.char(65 + i % 26), 1024), 1024) end,
  table = function(i)
    local t = {}
    for k = 1, 10000 do t[k] = k + i end
    return t
  end,
}
local build = assert(builders[kind], "unknown kind")

local function consume(q, n, done)
  local t0 = threading.monotonic()
  for _ = 1, n do assert(q:get()) end
  done:put(threading.monotonic() - t0)
end

local transfer, built, ratio = {}, {}, {}
for r = 1, reps do
  -- the values are made before the clock starts: only the copy is timed
  local values = {}
  for i = 1, count do values[i] = build(i) end
  local q, done = threading.Queue(), threading.Queue()
  local t0 = lib.now()
  for i = 1, count do q:put(values[i]) end
  local put_time = lib.now() - t0
  values = nil
  local consumer = threading.Thread(consume, q, count, done)
  consumer:start()
  local get_time = done:get()
  consumer:join()
  collectgarbage()
  transfer[r] = (put_time + get_time) / count * 1e6

  local keep = {}
  t0 = lib.now()
  for i = 1, count do keep[i] = build(i) end
  built[r] = (lib.now() - t0) / count * 1e6
  keep = nil
  collectgarbage()
  ratio[r] = transfer[r] / built[r]
end
lib.report("transfer_us", lib.median(transfer))
lib.report("build_us", lib.median(built))
lib.report("ratio", lib.median(ratio))
