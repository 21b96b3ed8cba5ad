-- scripts/bench/workloads/memory.lua N [STACK_BYTES]: N threads alive at once, all
-- sleeping (waiting on one Event); RSS (VmRSS) is read before starting
-- them and once all have started.  Prints both and the bytes per thread.
-- STACK_BYTES, if given and > 0, is passed to threading.stack_size.
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local n, stack = lib.int_arg(1, 1000), lib.int_arg(2, 0)
if stack > 0 then threading.stack_size(stack) end

local function sleeper(go, ready)
  ready:release()
  go:wait()
end

local go, ready = threading.Event(), threading.Semaphore(0)
local before = lib.rss()
local t0 = lib.now()
local ts = {}
for i = 1, n do
  ts[i] = threading.Thread(sleeper, go, ready)
  ts[i]:start()
end
for _ = 1, n do ready:acquire() end
local started = lib.now() - t0
local during = lib.rss()
go:set()
for i = 1, n do ts[i]:join() end
lib.report("threads", n)
lib.report("rss_before", before)
lib.report("rss_during", during)
lib.report("bytes_per_thread", (during - before) // n)
lib.report("start_seconds", started)
lib.report("stack_size", threading.stack_size())
