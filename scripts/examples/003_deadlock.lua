-- 003_deadlock.lua -- port of "Avoiding Deadlocks" in
-- tutorial 003: worker_1 takes lock_1 then lock_2,
-- worker_2 takes lock_2 then lock_1. If each holds its first lock, they
-- wait for each other forever.
-- Bounded variant: a Barrier(2) between the two acquires makes that unlucky
-- interleaving certain; the pair runs as daemon threads and the main thread
-- detects the deadlock with join timeouts (no progress in 1 s), reports it,
-- and leaves the two threads blocked when the program exits. Then the fix:
-- both workers take the locks in the same global order, and both finish.
-- Run: tlua scripts/examples/003_deadlock.lua   (EXAMPLE_FAST=1: times / 5)
local threading = require "threading"
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local PATIENCE = FAST and 0.2 or 1.0

local lock_1 = threading.Lock()
local lock_2 = threading.Lock()

local function worker_1(both_hold_one)
  lock_1:acquire()
  print("worker_1: acquired lock_1")
  if both_hold_one then both_hold_one:wait() end
  print("worker_1: waiting for lock_2")
  lock_2:acquire()

  -- Do something
  print("worker_1: acquired lock_2, working")

  lock_2:release()
  lock_1:release()
end

local function worker_2(both_hold_one)
  lock_2:acquire()
  print("worker_2: acquired lock_2")
  if both_hold_one then both_hold_one:wait() end
  print("worker_2: waiting for lock_1")
  lock_1:acquire()

  -- Do something
  print("worker_2: acquired lock_1, working")

  lock_1:release()
  lock_2:release()
end

-- worker_2 fixed: the same global order as worker_1 (lock_1, then lock_2).
local function worker_2_ordered()
  lock_1:acquire()
  print("worker_2: acquired lock_1")
  print("worker_2: waiting for lock_2")
  lock_2:acquire()

  -- Do something
  print("worker_2: acquired lock_2, working")

  lock_2:release()
  lock_1:release()
end

local function run(f1, f2, ...)
  local t1 = threading.Thread{target = f1, args = {...}, daemon = true}
  local t2 = threading.Thread{target = f2, args = {...}, daemon = true}
  t1:start()
  t2:start()
  local deadline = threading.monotonic() + PATIENCE
  local done1 = t1:join(math.max(0, deadline - threading.monotonic()))
  local done2 = t2:join(math.max(0, deadline - threading.monotonic()))
  return done1 and done2
end

print("Main: locks taken in opposite orders")
if run(worker_1, worker_2, threading.Barrier(2)) then
  print("Main: both workers finished")
else
  print(("Main: no progress after %.1f s: worker_1 and worker_2 are deadlocked"):format(PATIENCE))
end

-- The deadlocked pair still holds lock_1 and lock_2: the fixed pair gets
-- fresh locks.
lock_1 = threading.Lock()
lock_2 = threading.Lock()
print("Main: locks taken in the same order")
if run(worker_1, worker_2_ordered) then
  print("Main: both workers finished")
else
  print(("Main: no progress after %.1f s: worker_1 and worker_2 are deadlocked"):format(PATIENCE))
end
