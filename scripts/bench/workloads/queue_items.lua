-- scripts/bench/workloads/queue_items.lua COUNT REPS [MAXSIZE [KIND [ITEM]]]: items per
-- second through a queue from a producer thread to the main thread.  KIND: Queue (the
-- default), LifoQueue, PriorityQueue or SimpleQueue; ITEM: int (the default) or str (short
-- strings); MAXSIZE 0 = unbounded, as Python's default (SimpleQueue has none).  Prints
-- "per_second", the median of REPS runs, or "skip REASON" when the kind is not available.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local count, reps, maxsize = lib.int_arg(1, 200000), lib.int_arg(2, 3), lib.int_arg(3, 0)
local kind, item = arg[4] or "Queue", arg[5] or "int"
if not threading[kind] then print("skip threading." .. kind .. " not implemented") return end

local function produce(q, n, item)
  if item == "str" then
    for i = 1, n do q:put("item") end
  else
    for i = 1, n do q:put(i) end
  end
end

local rates = {}
for r = 1, reps do
  local q = kind == "SimpleQueue" and threading.SimpleQueue() or threading[kind](maxsize)
  local t0 = lib.now()
  local producer = threading.Thread(produce, q, count, item)
  producer:start()
  local sum = 0
  if item == "str" then
    for _ = 1, count do sum = sum + #q:get() end
  else
    for _ = 1, count do sum = sum + q:get() end
  end
  producer:join()
  rates[r] = count / (lib.now() - t0)
  assert(sum == (item == "str" and 4 * count or count * (count + 1) // 2))
end
lib.report("per_second", lib.median(rates))
lib.report("cores", threading._cpu_count and threading._cpu_count() or 0)
