-- Queue under load: 4 producers and 4 consumers move 200,000 items through
-- a bounded queue; nothing may be lost or duplicated (count, sum and sum
-- of squares checked), in either GIL mode.
local threading = require "threading"

local PRODUCERS, CONSUMERS, ITEMS, MAXSIZE = 4, 4, 200000, 100

local function produce(q, first, last)
  for i = first, last do q:put(i) end
end

local function consume(q)
  local n, sum, squares = 0, 0, 0
  for item in q:items() do
    n, sum, squares = n + 1, sum + item, squares + item * item
  end
  return n, sum, squares
end

describe("Queue stress", function()
  local function run(make_queue)
    local q = make_queue(MAXSIZE)
    local t0 = threading.monotonic()
    local consumers, producers = {}, {}
    for i = 1, CONSUMERS do
      consumers[i] = threading.Thread(consume, q)
      consumers[i]:start()
    end
    local per = ITEMS // PRODUCERS
    for i = 1, PRODUCERS do
      producers[i] = threading.Thread(produce, q, (i - 1) * per + 1, i * per)
      producers[i]:start()
    end
    for _, t in ipairs(producers) do
      assert.is_true(t:join(60))
      t:result()
    end
    q:shutdown() -- consumers drain what is left, then their loops end
    local n, sum, squares = 0, 0, 0
    for _, t in ipairs(consumers) do
      assert.is_true(t:join(60))
      local cn, csum, csq = t:result()
      assert.is_true(cn > 0 or CONSUMERS > 1)
      n, sum, squares = n + cn, sum + csum, squares + csq
    end
    local elapsed = threading.monotonic() - t0
    assert.equal(ITEMS, n)
    assert.equal(ITEMS * (ITEMS + 1) // 2, sum)
    assert.equal(ITEMS * (ITEMS + 1) * (2 * ITEMS + 1) // 6, squares)
    assert.equal(0, q:qsize())
    return elapsed
  end

  it(("moves %d items through Queue(%d) with %d producers and %d consumers"):format(
       ITEMS, MAXSIZE, PRODUCERS, CONSUMERS), function()
    local elapsed = run(threading.Queue)
    assert.is_true(elapsed < 60, ("took %.1f s"):format(elapsed))
  end)

  it("and through a PriorityQueue", function()
    local elapsed = run(threading.PriorityQueue)
    assert.is_true(elapsed < 60, ("took %.1f s"):format(elapsed))
  end)
end)
