-- 002_subclass.lua -- port of threading_subclass.py, "Subclassing Thread" in
-- tutorial 002.
-- Lua idiom for `class MyThread(threading.Thread): def run(self)`: a
-- constructor function returning a Thread whose target is the run function
-- (the target is copied into the new thread, so run must only use its
-- arguments, upvalues and modules).
-- Run: tlua scripts/examples/002_subclass.lua
local threading = require "threading"
local logging = threading.log

local function MyThread(spec)
  local function run()
    logging.debug("running")
  end
  spec = spec or {}
  spec.target = run
  return threading.Thread(spec)
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "(%(threadName)-10s) %(message)s",
}

for _ = 1, 5 do
  local t = MyThread()
  t:start()
end
