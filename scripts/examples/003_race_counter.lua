-- 003_race_counter.lua -- port of "Thread Synchronization" in
-- tutorial 003: increment() and decrement() on a shared
-- counter, first without a lock (a race: updates get lost, so the result is
-- usually not 0), then with lock.acquire()/release() around each update
-- (always 0).
-- Python's `global counter` -> a threading.shared table, the one kind of
-- table every thread sees (each thread has its own globals in tlua).
-- Each thread does its update 100000 times so that the race shows.
-- Run: tlua scripts/examples/003_race_counter.lua
local threading = require "threading"

local N = 100000

local function increment(state)
  state.counter = state.counter + 1
end

local function decrement(state)
  state.counter = state.counter - 1
end

local function locked_increment(state, lock)
  lock:acquire()
  state.counter = state.counter + 1
  lock:release()
end

local function locked_decrement(state, lock)
  lock:acquire()
  state.counter = state.counter - 1
  lock:release()
end

local function repeat_n(f, ...)
  for _ = 1, N do f(...) end
end

local function run_pair(inc, dec, ...)
  local state = threading.shared{counter = 0}
  local t1 = threading.Thread(repeat_n, inc, state, ...)
  local t2 = threading.Thread(repeat_n, dec, state, ...)
  t1:start()
  t2:start()
  t1:join()
  t2:join()
  return state.counter
end

print(("without a lock: counter = %d (should be 0)"):format(run_pair(increment, decrement)))
local lock = threading.Lock()
print(("with a lock:    counter = %d"):format(run_pair(locked_increment, locked_decrement, lock)))
