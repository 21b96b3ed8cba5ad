-- 002_semaphore.lua -- port of threading_semaphore.py, "Limiting Concurrent
-- Access to Resources" in tutorial 002: 4 workers, a
-- Semaphore(2): at most two names are ever in the pool's active list.
-- class ActivePool -> a table holding a threading.shared list and a Lock,
-- with a metatable for its methods (both cross into the threads; the
-- shared list and the Lock are passed by reference). The list is printed
-- the way Python prints a list of strings.
-- Run: tlua scripts/examples/002_semaphore.lua   (EXAMPLE_FAST=1: sleeps / 10)
local threading = require "threading"
local logging = threading.log
local FAST = os.getenv("EXAMPLE_FAST") == "1"
local function sleep(s) threading.sleep(FAST and s / 10 or s) end

local ActivePool = {}
ActivePool.__index = ActivePool

function ActivePool.new()
  return setmetatable({active = threading.shared{}, lock = threading.Lock()}, ActivePool)
end

function ActivePool:repr()
  local items = {}
  for i = 1, #self.active do items[i] = ("'%s'"):format(self.active[i]) end
  return "[" .. table.concat(items, ", ") .. "]"
end

function ActivePool:makeActive(name)
  self.lock:with(function()
    self.active[#self.active + 1] = name
    logging.debug("Running: %s", self:repr())
  end)
end

function ActivePool:makeInactive(name)
  self.lock:with(function()
    local n = #self.active
    for i = 1, n do
      if self.active[i] == name then
        for j = i, n - 1 do self.active[j] = self.active[j + 1] end
        self.active[n] = nil
        break
      end
    end
    logging.debug("Running: %s", self:repr())
  end)
end

local function worker(s, pool)
  logging.debug("Waiting to join the pool")
  s:with(function()
    local name = threading.current_thread().name
    pool:makeActive(name)
    sleep(0.1)
    pool:makeInactive(name)
  end)
end

logging.basicConfig{
  level = logging.DEBUG,
  format = "%(asctime)s (%(threadName)-2s) %(message)s",
}

local pool = ActivePool.new()
local s = threading.Semaphore(2)
for i = 0, 3 do
  local t = threading.Thread{
    target = worker,
    name = tostring(i),
    args = {s, pool},
  }
  t:start()
end
