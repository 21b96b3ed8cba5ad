-- scripts/bench/workloads/shared_ops.lua COUNT MODE: COUNT operations on a
-- threading.shared table in one thread, for callgrind's instruction counts
-- (the driver subtracts a run of COUNT 1):
--   read, write:         s.n, s.n = i          (an integer)
--   read_str, write_str: s.s, s.s = "ready"    (a short string)
--   add:                 threading.atomic.add(s, "n", 1)
-- Prints "operations COUNT".
local lib = dofile((arg[0]:match("^(.*)/") or ".") .. "/lib.lua")
local threading = lib.threading
local count, mode = lib.int_arg(1, 100000), arg[2]
local s = threading.shared{n = 0, s = "ready"}
local x
local runs = {
  read = function() for _ = 1, count do x = s.n end end,
  write = function() for i = 1, count do s.n = i end end,
  read_str = function() for _ = 1, count do x = s.s end end,
  write_str = function() for _ = 1, count do s.s = "ready" end end,
  add = function()
    local add = threading.atomic and threading.atomic.add
    if not add then
      print("skip no threading.atomic")
      os.exit(0)
    end
    for _ = 1, count do add(s, "n", 1) end
  end,
}
assert(runs[mode], "unknown mode")()
lib.report("operations", count)
