-- 004_producer_consumer.lua -- port of "Communicating between threads" in
-- tutorial 004: an endless producer and an endless
-- consumer share a Queue; the consumer calls task_done() for each item.
-- The original never ends and leaves data_computation() undefined. Here
-- data_computation() takes 0.1 s and returns the next number; both threads
-- are daemons, and the main thread lets them run for 0.55 s, then exits
-- (abandoning them).
-- Run: tlua scripts/examples/004_producer_consumer.lua   (EXAMPLE_FAST=1: sleeps / 5)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 5 or s) end

-- create a data producer
local function producer(output_queue)
  local n = 0
  local function data_computation()
    sleep(0.1)
    n = n + 1
    return n
  end
  while true do
    local data = data_computation()

    output_queue:put(data)
  end
end

-- create a consumer
local function consumer(input_queue)
  while true do
    -- retrieve data (blocking)
    local data = input_queue:get()

    -- do something with the data
    print(("consumed %d"):format(data))

    -- indicate data has been consumed
    input_queue:task_done()
  end
end

-- Creating producer and consumer threads with a shared queue
local q = threading.Queue()

local t1 = threading.Thread{target = consumer, args = {q}, daemon = true}
local t2 = threading.Thread{target = producer, args = {q}, daemon = true}
t1:start()
t2:start()

sleep(0.55)
print("Main: exiting, the daemon producer and consumer are abandoned")
