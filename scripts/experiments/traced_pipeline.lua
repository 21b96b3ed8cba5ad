-- A producer and a consumer through a bounded Queue, with the trace's
-- user events: a mark where production starts, a span per job, a counter
-- of items produced; the queue's size is a counter of its own.  Run it
-- traced and open the picture or the JSON (ui.perfetto.dev):
--
--   tlua --trace-svg /tmp/pipeline.svg scripts/experiments/traced_pipeline.lua [items]
--   tlua --trace /tmp/pipeline.json scripts/experiments/traced_pipeline.lua [items]
--
-- Untraced, the trace calls cost a function call each and do nothing.
local threading = require "threading"
local trace = threading.trace

local items = math.tointeger(tonumber(arg and arg[1]) or 12)
local jobs = threading.Queue{name = "jobs", maxsize = 4}

local consumer = threading.Thread{name = "consumer", target = function()
  for item in jobs:items() do
    trace.span("job " .. item, threading.sleep, 0.002) -- the work: 2 ms each
  end
end}
consumer:start()

trace.mark("producing")
for i = 1, items do
  jobs:put(i) -- blocks while 4 jobs wait
  trace.counter("produced", i)
end
jobs:shutdown()
consumer:join()
print(string.format("%d jobs through a Queue of 4", items))
