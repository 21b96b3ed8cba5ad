-- Lost updates: N threads each add 1 to a shared counter many times.
-- counter.n = counter.n + 1 on a threading.shared table is a read, an
-- add and a write: each access is atomic, the whole is not.  Two threads
-- that read the same value both write value+1, and one increment is lost.
--   GIL off: the threads really run at once, so many updates are lost.
--   GIL on:  as in CPython, the GIL changes hands only at a safe point (a
--            new line, a loop's backward jump, a function entry), never
--            between the read and the write of `c.n = c.n + 1` written on
--            one line: nothing is lost -- by luck of where the switches
--            fall, not by guarantee.  Split the statement over two lines
--            (`local v = c.n` / `c.n = v + 1`) and updates are lost again.
--   With a Lock around the read-modify-write: none is lost, in both modes.
--
--   tlua [-X gil=0|1] scripts/experiments/lost_updates.lua [threads] [increments]
--     threads: default 2; increments per thread: default 200000
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/../bench/workloads/lib.lua")
local threading = require "threading"

local n = lib.int_arg(1, 2)
local per_thread = lib.int_arg(2, 200000)

local function unguarded(counter, times)
  for _ = 1, times do counter.n = counter.n + 1 end
end

local function guarded(counter, times, lock)
  for _ = 1, times do
    lock:acquire()
    counter.n = counter.n + 1
    lock:release()
  end
end

local function run(fn, lock)
  local switches = threading.gil_stats().forced_switches
  local counter = threading.shared{n = 0}
  local t0 = threading.monotonic()
  local ts = {}
  for i = 1, n do
    ts[i] = threading.Thread(fn, counter, per_thread, lock)
    ts[i]:start()
  end
  for i = 1, n do ts[i]:join() end
  return counter.n, threading.monotonic() - t0, threading.gil_stats().forced_switches - switches
end

local expected = n * per_thread
print(string.format("Lost updates, GIL %s, %d cores, %d threads x %d increments of a threading.shared counter",
                    threading.gil_enabled() and "on" or "off", threading._cpu_count(), n, per_thread))
local function show(label, got, secs, switches)
  print(string.format("  %-15s %9d of %d  lost %9d (%5.2f%%)  %.2f s  %d forced GIL switches",
                      label, got, expected, expected - got, 100 * (expected - got) / expected,
                      secs, switches))
end
show("without a lock:", run(unguarded))
show("with a Lock:", run(guarded, threading.Lock()))
if threading.gil_enabled() then
  print("With the GIL, threads switch only at safe points (new line, loop back-edge,")
  print("call), as in CPython: the one-line read-modify-write is never split, so")
  print("nothing is lost -- by luck, not by guarantee.  The Lock makes it certain.")
else
  print("Without the GIL the threads interleave freely: many increments are lost.")
  print("The Lock serialises the read-modify-write: none is lost.")
end
