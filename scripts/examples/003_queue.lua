-- 003_queue.lua -- port of "Thread Communication using Queue" in
-- tutorial 003: a producer puts 0..5, a consumer gets and
-- prints them, calling task_done(); q.join() returns once all six are done.
-- One difference: the original consumer is a non-daemon `while True` loop,
-- so the Python program never exits after q.join(); here the consumer is a
-- daemon, so the program ends after the main thread's last line. And the
-- original reaches q.join() right after starting the producer: should the
-- producer not have put anything yet, join() returns at once. The port
-- joins the producer first, so that q.join() really waits for the six items.
-- Run: tlua scripts/examples/003_queue.lua
local threading = require "threading"

local q = threading.Queue()

-- Producer thread
local function producer()
  for i = 0, 5 do
    q:put(i)
  end
end

-- Consumer thread
local function consumer()
  while true do
    local item = q:get()
    print(item)
    q:task_done()
  end
end

local t1 = threading.Thread{target = producer}
local t2 = threading.Thread{target = consumer, daemon = true}

t1:start()
t2:start()

t1:join()
q:join() -- Wait until all tasks are marked done
print("Main: all tasks done")
