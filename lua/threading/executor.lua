--[[
threading.executor -- ThreadPoolExecutor, as_completed and wait, modelled on
Python's concurrent.futures (reached as threading.ThreadPoolExecutor etc.).

The executor is a Lua table living in the state that made it.  Its work
queue (a threading.Queue) and its futures (threading.Future) are C objects
shared by reference, so worker threads -- plain threading.Thread objects,
started lazily, one per submit until max_workers, reusing idle ones -- take
tasks {future, f, n, args...} from the queue, run them in their own states and
complete the futures.  Workers are daemon threads, but as in Python an
executor still open when its thread ends (for the main thread: at the end
of the main chunk) is shut down and its queued work finished first
(threading._register_atexit).

wait() and as_completed() do not poll: they give each pending future an
internal Queue (Future:_add_waiter) into which the future puts itself when
it completes.
]]
local threading = require "threading"

local M = {
  FIRST_COMPLETED = "FIRST_COMPLETED",
  FIRST_EXCEPTION = "FIRST_EXCEPTION",
  ALL_COMPLETED = "ALL_COMPLETED",
}

local monotonic = threading.monotonic

-- Executors of this state not yet collected, shut down (waiting for their
-- work) when the state's thread ends, as Python does at exit.
local live_executors = setmetatable({}, {__mode = "k"})
local atexit_registered = false

-- Remaining seconds before an absolute deadline (nil: no deadline).
local function remaining(deadline)
  if deadline == nil then return nil end
  local r = deadline - monotonic()
  return r > 0 and r or 0
end

local function deadline_after(timeout, level)
  if timeout == nil then return nil end
  if type(timeout) ~= "number" then
    error(("TypeError: timeout must be a number, got %s"):format(type(timeout)), level + 1)
  elseif timeout ~= timeout then
    error("ValueError: timeout must not be NaN", level + 1)
  end
  return monotonic() + timeout
end

-- The body of every worker thread (runs in the worker's own state, so it
-- uses nothing but its arguments and globals).  Whatever ends it, it counts
-- its exit in 'exits' (a shared table guarded by 'exit_cond').
local function worker_main(work, idle, exits, exit_cond)
  -- This state works for that executor: its shutdown(wait) called here
  -- must not wait for this thread (Executor:shutdown).
  require("threading.executor")._worker_exits = exits
  local traceback
  local function handler(e)
    local msg = type(e) == "string" and e or ("(error object is a %s value)"):format(type(e))
    traceback = debug.traceback(msg, 2)
    return e
  end
  local function finish(fut, ok, ...)
    if ok then
      local sent, err = pcall(fut.set_result, fut, ...)
      if not sent then fut:set_exception(err, err) end -- e.g. a result that cannot be copied
    else
      fut:set_exception((...), traceback)
    end
  end
  local function loop()
    while true do
      local got, task = pcall(work.get, work)
      if not got then
        -- The task could not be copied into this state (a module this
        -- thread cannot load...): it is lost, this worker goes on.
        local name = require("threading").current_thread().name
        io.stderr:write(("Exception in worker %s: a task could not be received (its future stays pending):\n%s\n")
          :format(name, tostring(task)))
      elseif task == nil then -- shut down and drained
        return
      else
        local fut = task[1]
        if fut:set_running_or_notify_cancel() then
          finish(fut, xpcall(task[2], handler, table.unpack(task, 4, task[3] + 3)))
        end
      end
      task, traceback = nil, nil
      idle:release() -- one more idle worker
    end
  end
  local ok, err = pcall(loop)
  exit_cond:acquire()
  exits.n = exits.n + 1
  exit_cond:notify_all()
  exit_cond:release()
  if not ok then error(err, 0) end
end

local Executor = {}
Executor.__index = Executor
Executor.__name = "ThreadPoolExecutor"

function Executor:__tostring()
  return ("ThreadPoolExecutor(max_workers=%d, threads=%d%s)"):format(self._max_workers, #self._threads,
    self._shutdown and ", shutdown" or "")
end

-- Starts a worker unless there are max_workers already or one is idle.
-- (Python asks the idle count first; at max_workers the answer changes
-- nothing, and asking costs a lock that every worker also takes.)
function Executor:_adjust_thread_count()
  local n = #self._threads
  if n >= self._max_workers or self._idle:acquire(false) then return end
  local t = threading.Thread{
    target = worker_main,
    args = {self._work, self._idle, self._exits, self._exit_cond},
    name = ("%s_%d"):format(self._prefix, n),
    daemon = true,
  }
  t:start()
  self._threads[n + 1] = t
end

-- "threading.Future", "threading.Lock"... for threading objects, else the type.
local function kind_of(v)
  local mt = getmetatable(v)
  return type(v) == "userdata" and type(mt) == "table" and mt.__name or type(v)
end

-- self must be an executor made by ThreadPoolExecutor (ex:submit, not ex.submit).
local function check_self(self, method)
  if getmetatable(self) ~= Executor then
    error(("bad argument #1 to '%s' (ThreadPoolExecutor expected, got %s; use ':')"):format(method,
          kind_of(self)), 3)
  end
end

function Executor:submit(f, ...)
  check_self(self, "submit")
  if self._shutdown then error("RuntimeError: cannot schedule new futures after shutdown", 2) end
  local mt = getmetatable(f)
  if type(f) ~= "function" and not (mt and mt.__call) then
    error(("bad argument #1 to 'submit' (function expected, got %s)"):format(type(f)), 2)
  end
  local fut = threading.Future()
  -- A task is {future, f, n, arg1, ..., argn}: one table per task.
  local ok, err = pcall(self._work.put, self._work, {fut, f, select("#", ...), ...})
  if not ok then
    if type(err) == "string" then
      err = err:gsub("^item%[(%d+)%]", function(i)
        i = tonumber(i)
        return i == 2 and "f" or ("args[%d]"):format(i - 3)
      end, 1)
    end
    error(err, 2)
  end
  self:_adjust_thread_count()
  return fut
end

-- map(f, list [, timeout]): submits f(list[i]) for every i now; returns an
-- iterator over the results in order, raising a task's error where it
-- occurs, or "TimeoutError" once timeout seconds have passed since the call.
-- Leaving the loop early (break, error) cancels the tasks not yet started.
function Executor:map(f, list, timeout)
  check_self(self, "map")
  if type(list) ~= "table" then
    error(("bad argument #2 to 'map' (table expected, got %s)"):format(type(list)), 2)
  end
  local deadline = deadline_after(timeout, 2)
  local futures = {}
  for i = 1, #list do futures[i] = self:submit(f, list[i]) end
  local i = 0
  local closer = setmetatable({}, {__close = function()
    for j = i + 1, #futures do futures[j]:cancel() end
  end})
  local function next_result()
    i = i + 1
    local fut = futures[i]
    if fut == nil then return nil end
    return fut:result(remaining(deadline))
  end
  return next_result, nil, nil, closer
end

function Executor:shutdown(wait, cancel_futures)
  if wait == nil then wait = true end
  self._shutdown = true
  if cancel_futures then
    while true do
      local task = self._work:get_nowait()
      if task == nil then break end
      task[1]:cancel()
    end
  end
  self._work:shutdown()
  if wait then
    -- As Python, which joins every worker: a worker cannot wait for
    -- itself (shutdown() inside a task), it waits for the others, then
    -- raises.  The exits are counted rather than joined first: at
    -- lua_close the Thread boxes may be finalized before this executor.
    -- The count is never consumed, so any number of shutdowns may wait.
    local own = M._worker_exits ~= nil and M._worker_exits == self._exits
    local others = #self._threads - (own and 1 or 0)
    local cond, exits = self._exit_cond, self._exits
    cond:acquire()
    local ok, err = pcall(function()
      while exits.n < others do cond:wait() end
    end)
    cond:release()
    if not ok then error(err, 0) end
    if own then error("RuntimeError: cannot join current thread", 2) end
    for _, t in ipairs(self._threads) do pcall(t.join, t) end -- their states closed too
  end
end

function Executor:__close()
  self:shutdown(true)
end

-- An executor collected without shutdown finishes its queued work first:
-- that is also what happens at exit inside stock lua5.4, where lua_close
-- finalizes everything (tlua itself shuts executors down earlier, through
-- threading._register_atexit).
function Executor:__gc()
  pcall(self.shutdown, self, true) -- the queue's box may be gone already
end

-- ThreadPoolExecutor([max_workers]) or ThreadPoolExecutor{max_workers=,
-- thread_name_prefix=}.
function M.ThreadPoolExecutor(opts)
  local max_workers, prefix
  if type(opts) == "table" then
    max_workers, prefix = opts.max_workers, opts.thread_name_prefix
  else
    max_workers = opts
  end
  if max_workers == nil then
    max_workers = math.min(32, threading._cpu_count() + 4)
  elseif math.type(max_workers) ~= "integer" then
    error("TypeError: max_workers must be an integer", 2)
  elseif max_workers <= 0 then
    error("ValueError: max_workers must be greater than 0", 2)
  end
  if prefix ~= nil and type(prefix) ~= "string" then
    error("TypeError: thread_name_prefix must be a string", 2)
  end
  local self = {
    _max_workers = max_workers,
    _prefix = prefix or ("ThreadPoolExecutor-%d"):format(threading._counter()),
    _work = threading.Queue(),
    _idle = threading.Semaphore(0), -- released by each worker that waits for work
    _exits = threading.shared{n = 0}, -- how many workers have ended
    _exit_cond = threading.Condition(), -- notified at each end
    _threads = {},
    _shutdown = false,
  }
  live_executors[self] = true
  if not atexit_registered then
    atexit_registered = true
    threading._register_atexit(function()
      for ex in pairs(live_executors) do
        if not ex._shutdown then ex:shutdown(true) end
      end
    end)
  end
  return setmetatable(self, Executor) -- after the objects above: finalized before them
end

-- Distinct futures of the list, in order.
local function distinct(fs)
  if type(fs) ~= "table" then error(("bad argument #1 (table of futures expected, got %s)"):format(type(fs)), 3) end
  local seen, list = {}, {}
  for i, f in ipairs(fs) do
    if kind_of(f) ~= "threading.Future" then
      error(("bad argument #1 (table of futures expected, item %d is %s)"):format(i, kind_of(f)), 3)
    end
    if not seen[f] then
      seen[f] = true
      list[#list + 1] = f
    end
  end
  return list
end

-- A closing value that takes 'waiter' back from the futures of 'list'
-- still pending (those done dropped it already): a loop that returns,
-- breaks or times out leaves nothing behind on them.
local function waiter_remover(list, waiter)
  return setmetatable({}, {__close = function()
    for _, f in ipairs(list) do f:_remove_waiter(waiter) end
  end})
end

-- as_completed(futures [, timeout]): an iterator yielding each future as it
-- completes (those already done first); raises "TimeoutError: N (of M)
-- futures unfinished" if they are not all done in time.  Its fourth value
-- closes it: a for loop that ends early takes its waiter back.
function M.as_completed(fs, timeout)
  local deadline = deadline_after(timeout, 2)
  local list = distinct(fs)
  local finished, waiter, npending = {}, threading.Queue(), 0
  for _, f in ipairs(list) do
    if f:_add_waiter(waiter) then npending = npending + 1 else finished[#finished + 1] = f end
  end
  local i = 0
  return function()
    i = i + 1
    if finished[i] then return finished[i] end
    if npending == 0 then return nil end
    local f = waiter:get(true, remaining(deadline))
    if f == nil then
      error(("TimeoutError: %d (of %d) futures unfinished"):format(npending, #list), 2)
    end
    npending = npending - 1
    return f
  end, nil, nil, waiter_remover(list, waiter)
end

local return_whens = {FIRST_COMPLETED = true, FIRST_EXCEPTION = true, ALL_COMPLETED = true}

-- wait(futures [, timeout [, return_when="ALL_COMPLETED"]]) -> done, not_done:
-- two sets (tables whose keys are the futures, values true).
function M.wait(fs, timeout, return_when)
  return_when = return_when or M.ALL_COMPLETED
  if not return_whens[return_when] then
    error(("ValueError: Invalid return condition: %s"):format(tostring(return_when)), 2)
  end
  local deadline = deadline_after(timeout, 2)
  local done, not_done, ndone, nfailed, npending = {}, {}, 0, 0, 0
  local function mark_done(f)
    not_done[f] = nil
    done[f] = true
    ndone = ndone + 1
    if f._failed then nfailed = nfailed + 1 end
  end
  local waiter, list = threading.Queue(), distinct(fs)
  local _ <close> = waiter_remover(list, waiter)
  for _, f in ipairs(list) do
    if f:_add_waiter(waiter) then
      not_done[f] = true
      npending = npending + 1
    else
      mark_done(f)
    end
  end
  local function satisfied()
    return npending == 0 or (return_when == M.FIRST_COMPLETED and ndone > 0)
        or (return_when == M.FIRST_EXCEPTION and nfailed > 0)
  end
  while not satisfied() do
    local f = waiter:get(true, remaining(deadline))
    if f == nil then break end -- timeout
    npending = npending - 1
    mark_done(f)
  end
  return done, not_done
end

return M
