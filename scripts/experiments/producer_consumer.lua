-- Producer/consumer: P producer threads put ITEMS integers each into one
-- bounded Queue (maxsize 100); C consumer threads get them until the
-- queue is shut down and drained.  Prints the throughput in items per
-- second and checks that every item arrived exactly once.  A bounded
-- queue makes fast producers wait for the consumers (back-pressure).
--
--   tlua [-X gil=0|1] scripts/experiments/producer_consumer.lua [P] [C] [items]
--     P producers (default 2), C consumers (default P), items per producer
--     (default 100000)
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/../bench/workloads/lib.lua")
local threading = require "threading"

local producers = lib.int_arg(1, 2)
local consumers = lib.int_arg(2, producers)
local items = lib.int_arg(3, 100000)
local MAXSIZE = 100

local function produce(q, first, n)
  for i = first, first + n - 1 do q:put(i) end
end

local function consume(q)
  local count, sum = 0, 0
  for item in q:items() do
    count, sum = count + 1, sum + item
  end
  return count, sum
end

local q = threading.Queue(MAXSIZE)
local t0 = threading.monotonic()
local ps, cs = {}, {}
for i = 1, consumers do
  cs[i] = threading.Thread(consume, q)
  cs[i]:start()
end
for i = 1, producers do
  ps[i] = threading.Thread(produce, q, (i - 1) * items + 1, items)
  ps[i]:start()
end
for i = 1, producers do ps[i]:join() end
q:shutdown() -- consumers finish once the queue is drained
local count, sum, per_consumer = 0, 0, {}
for i = 1, consumers do
  cs[i]:join()
  local c, s = cs[i]:result()
  count, sum, per_consumer[i] = count + c, sum + s, c
end
local elapsed = threading.monotonic() - t0
local total = producers * items
assert(count == total and sum == total * (total + 1) // 2, "items lost or duplicated")

print(string.format("Producer/consumer, GIL %s, %d cores: %d producers -> Queue(%d) -> %d consumers",
                    threading.gil_enabled() and "on" or "off", threading._cpu_count(),
                    producers, MAXSIZE, consumers))
print(string.format("  %d items in %.3f s: %.0f items/s; every item arrived once", total, elapsed,
                    total / elapsed))
print("  items per consumer: " .. table.concat(per_consumer, ", "))
print("Each item is copied into the queue by put and out of it by get; the")
print("bounded queue blocks producers when consumers fall behind.")
