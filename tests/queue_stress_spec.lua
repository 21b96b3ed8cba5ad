-- Queues under load: producers and consumers move 100,000 items through each
-- kind, bounded and not; nothing may be lost or duplicated (count, sum and sum
-- of squares checked), a FIFO queue keeps each producer's order, task_done and
-- join agree, and a consumer that sleeps at every item is always woken, in
-- either GIL mode.  (A FIFO queue's two ends have two mutexes: queue.c.)
local threading = require "threading"
local helpers = require "helpers"

local PRODUCERS, CONSUMERS, ITEMS, MAXSIZE = 4, 4, 100000, 100

-- Items are i * PRODUCERS + p (p = 0 .. PRODUCERS - 1): the producer of an
-- item is its remainder, and each producer puts its items in rising order.
local function produce(q, p, n, producers)
  for i = 1, n do q:put(i * producers + p) end
end

local function consume(q, producers, fifo, task_done)
  local n, sum, squares, last, in_order = 0, 0, 0, {}, true
  for item in q:items() do
    n, sum, squares = n + 1, sum + item, squares + item * item
    local p = item % producers
    if fifo and last[p] and item <= last[p] then in_order = false end
    last[p] = item
    if task_done then q:task_done() end
  end
  return n, sum, squares, in_order
end

-- Like consume, for a SimpleQueue (no items()): ends at false.
local function consume_simple(q, producers)
  local n, sum, squares, last, in_order = 0, 0, 0, {}, true
  for item in function() return q:get() or nil end do
    n, sum, squares = n + 1, sum + item, squares + item * item
    local p = item % producers
    if last[p] and item <= last[p] then in_order = false end
    last[p] = item
  end
  return n, sum, squares, in_order
end

local function expected(producers, per)
  local n, sum, squares = 0, 0, 0
  for p = 0, producers - 1 do
    for i = 1, per do
      local item = i * producers + p
      n, sum, squares = n + 1, sum + item, squares + item * item
    end
  end
  return n, sum, squares
end

describe("Queue stress", function()
  -- opts: producers, consumers, fifo (check each producer's order),
  -- task_done (consumers call it; main joins the queue), simple (SimpleQueue)
  local function run(q, opts)
    local producers, consumers = opts.producers or PRODUCERS, opts.consumers or CONSUMERS
    local per = ITEMS // producers
    local t0 = threading.monotonic()
    local cs, ps = {}, {}
    for i = 1, consumers do
      cs[i] = opts.simple and threading.Thread(consume_simple, q, producers)
              or threading.Thread(consume, q, producers, opts.fifo, opts.task_done)
      cs[i]:start()
    end
    for p = 1, producers do
      ps[p] = threading.Thread(produce, q, p - 1, per, producers)
      ps[p]:start()
    end
    for _, t in ipairs(ps) do
      assert.is_true(t:join(60))
      t:result()
    end
    if opts.task_done then
      assert.is_true(q:join(60)) -- every item taken and marked done
      assert.equal(0, q.unfinished_tasks)
    end
    if opts.simple then
      for _ = 1, consumers do q:put(false) end
    else
      q:shutdown() -- consumers drain what is left, then their loops end
    end
    local n, sum, squares = 0, 0, 0
    for _, t in ipairs(cs) do
      assert.is_true(t:join(60))
      local cn, csum, csq, in_order = t:result()
      if opts.fifo then assert.is_true(in_order, "a producer's items came out of order") end
      n, sum, squares = n + cn, sum + csum, squares + csq
    end
    local elapsed = threading.monotonic() - t0
    local en, esum, esq = expected(producers, per)
    assert.equal(en, n)
    assert.equal(esum, sum)
    assert.equal(esq, squares)
    assert.equal(0, q:qsize())
    assert.is_true(elapsed < 60, ("took %.1f s"):format(elapsed))
  end

  it(("moves %d items through Queue(%d) with %d producers and %d consumers"):format(
       ITEMS, MAXSIZE, PRODUCERS, CONSUMERS), function()
    run(threading.Queue(MAXSIZE), {fifo = true})
  end)

  it("through an unbounded Queue, one producer and one consumer, in order", function()
    run(threading.Queue(), {producers = 1, consumers = 1, fifo = true})
  end)

  it("through an unbounded Queue with task_done and join", function()
    run(threading.Queue(), {fifo = true, task_done = true})
  end)

  it("through a Queue(1), each put waiting for the get before it", function()
    run(threading.Queue(1), {producers = 2, consumers = 2, fifo = true, task_done = true})
  end)

  it("through a SimpleQueue, in order", function()
    run(threading.SimpleQueue(), {producers = 2, consumers = 2, simple = true})
  end)

  it("through a LifoQueue", function()
    run(threading.LifoQueue(MAXSIZE), {task_done = true})
  end)

  it("and through a PriorityQueue", function()
    run(threading.PriorityQueue(MAXSIZE), {})
  end)

  it("through a LifoQueue(1), each put waiting for the get before it", function()
    run(threading.LifoQueue(1), {producers = 2, consumers = 2, task_done = true})
  end)

  -- A ping-pong: each side sleeps (or watches) at every item, so every put
  -- must wake the getter.  The LifoQueue's stack is under a spin lock and its
  -- waiters sleep under another mutex, as a Queue's (queue.c).
  for _, kinds in ipairs{{"SimpleQueue", "Queue"}, {"LifoQueue", "LifoQueue"}} do
    it(("wakes a consumer that sleeps at every item (a ping-pong of 20,000, %s and %s)"):format(kinds[1], kinds[2]),
       function()
      local to, back = threading[kinds[1]](), threading[kinds[2]]()
      local echo = threading.Thread(function(inbox, outbox)
        for v in function() return inbox:get() or nil end do outbox:put(v + 1) end
      end, to, back)
      echo:start()
      local v = 0
      for _ = 1, 20000 do
        to:put(v)
        v = back:get(true, 30) -- (nil after 30 s: a lost wake-up)
        assert.is_not_nil(v)
      end
      to:put(false)
      assert.is_true(echo:join(60))
      assert.equal(20000, v)
    end)
  end

  -- shutdown() with items still queued: a consumer must drain them before
  -- its get sees the shutdown.  Its look at the flag once came after it left
  -- the get end's mutex, so puts and the shutdown landing in between ended
  -- its loop with the items still there: 1 run in 6 with the GIL off when
  -- the consumer was the process's first thread (a new OS thread, on its
  -- creator's core, watching an empty queue with that mutex held while the
  -- first put waited for it to grow the ring).  Hence one child process per
  -- try.
  for _, case in ipairs{{"Queue", 100}, {"PriorityQueue", 40}, {"LifoQueue", 40}} do
    it(("%s: items put just before shutdown() all reach the consumer (%d fresh processes)"):format(case[1], case[2]),
       function()
      local script = ([[
local threading = require "threading"
local q = threading.%s()
local got = threading.shared{n = 0}
local consumer = threading.Thread(function()
  while true do
    local item, why = q:get()
    if item == nil then return why end
    threading.atomic.add(got, "n", item)
  end
end):start()
for i = 1, 3 do q:put(i) end
q:shutdown()
assert(consumer:join(30), "the consumer did not end")
print(got.n, consumer:result())
]]):format(case[1])
      for try = 1, case[2] do
        local out, ok = helpers.run_child(script)
        assert.is_true(ok, out)
        assert.equal("6\tshutdown\n", out, "try " .. try .. ": items lost at shutdown")
      end
    end)
  end
end)
