-- 001_producer_consumer_event.lua -- port of "Producer consumer using queue"
-- in tutorial 001: a producer and a consumer submitted to
-- a ThreadPoolExecutor share a bounded Queue (maxsize 10) and an Event; the
-- main thread sets the event after 0.1 s; the consumer drains the queue
-- before it exits.
-- One deliberate difference: Python's consumer blocks in queue.get(), which
-- never returns if the producer sees the event and exits while the consumer
-- is waiting on an empty queue (a rare race in the original). The port waits
-- at most 0.1 s at a time and checks the loop condition again.
-- Run: tlua scripts/examples/001_producer_consumer_event.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local function producer(queue, event)
  while not event:is_set() do
    local message = math.random(1, 101)
    print(("Producer writing message: %d"):format(message))
    queue:put(message)
  end

  print("Producer received event. Exiting")
end

local function consumer(queue, event)
  while not event:is_set() or not queue:empty() do
    local message = queue:get(true, 0.1)
    if message ~= nil then
      print(("Consumer storing message: %d size=%d"):format(message, queue:qsize()))
    end
  end

  print("Consumer received event. Exiting")
end

local pipeline = threading.Queue(10)
local event = threading.Event()
do
  local executor <close> = threading.ThreadPoolExecutor{max_workers = 2}
  executor:submit(producer, pipeline, event)
  executor:submit(consumer, pipeline, event)
  sleep(0.1)
  print("Main: about to set event")
  event:set()
end
