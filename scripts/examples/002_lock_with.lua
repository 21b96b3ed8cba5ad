-- 002_lock_with.lua -- port of threading_lock_with.py, "Locks as Context
-- Managers" in tutorial 002.
-- `with lock:` -> lock:with(function() ... end); the explicit form is
-- acquire, pcall (Python's try), release (finally), re-raise.
-- Run: tlua scripts/examples/002_lock_with.lua
local threading = require "threading"
local logging = threading.log

local function worker_with(lock)
  lock:with(function()
    logging.debug("Lock acquired via with")
  end)
end

local function worker_no_with(lock)
  lock:acquire()
  local ok, err = pcall(logging.debug, "Lock acquired directly")
  lock:release()
  if not ok then error(err, 0) end
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "(%(threadName)-10s) %(message)s",
}

local lock = threading.Lock()
local w = threading.Thread{target = worker_with, args = {lock}}
local nw = threading.Thread{target = worker_no_with, args = {lock}}

w:start()
nw:start()
