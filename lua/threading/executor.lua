--[[
threading.executor -- ThreadPoolExecutor, as_completed and wait, modelled on
Python's concurrent.futures (reached as threading.ThreadPoolExecutor etc.).

An executor is a threading object (src/kinds/executor.c), shared by
reference like every other: passed to one of its own tasks, put in a queue,
collected in some thread, it is the same executor everywhere.  Its methods
are these Lua functions (M._methods, which its boxes get in every state);
they call its C primitives (_put, _shutdown, _wait_workers...) for what must
be atomic.  Workers -- plain threading.Thread objects, daemon, started
lazily, one per submit until max_workers while none is idle -- take tasks
from the executor's work (work:_get) and run them in their own states.

An executor is shut down, its queued tasks finishing first, by shutdown(),
at the end of the thread that made it (threading._register_atexit, as
Python does at exit), and at the end of the process; when the last
reference to it goes (in any thread), its workers finish what is queued
and end, without anybody waiting for them.

wait() and as_completed() do not poll: they give each pending future an
internal Queue (Future:_add_waiter) into which the future puts itself when
it completes, and take it back (Future:_remove_waiter) when they return.
]]
local threading = require "threading"

local M = {
  FIRST_COMPLETED = "FIRST_COMPLETED",
  FIRST_EXCEPTION = "FIRST_EXCEPTION",
  ALL_COMPLETED = "ALL_COMPLETED",
}

local monotonic = threading.monotonic

-- Executors made in this state not yet collected, shut down (waiting for
-- their work) when the state's thread ends, as Python does at exit.
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
-- uses nothing but its argument and globals).  Whatever ends it, it tells
-- the work (work:_worker_end), which shutdown(true) waits for.
local function worker_main(work)
  local traceback
  local function handler(e)
    if type(e) == "string" then e = require("threading")._hint(e) end -- a global of the main thread?
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
  -- One task: its future, whether it could be received here, then the
  -- function and its arguments or why it could not (a module this thread
  -- cannot load...): then the future fails with that error.  Nothing: the
  -- executor is shut down and its queue drained.
  local function run(fut, received, f, ...)
    if fut == nil then return false end
    if fut:set_running_or_notify_cancel() then
      if received then finish(fut, xpcall(f, handler, ...))
      else fut:set_exception(f, f) end
    end
    traceback = nil
    return true
  end
  local ok, err = pcall(function()
    work:_worker_begin() -- (inside: even its error reaches _worker_end)
    local after_task = false
    while run(work:_get(after_task)) do after_task = true end
  end)
  work:_worker_end()
  if not ok then error(err, 0) end
end

-- The executor's methods, which its boxes get (src/kinds/executor.c).
local Executor = {}
M._methods = Executor

-- Starts the worker that _put asked for.
local function start_worker(self, name)
  local ok, err = pcall(function()
    threading.Thread{target = worker_main, args = {self:_work()}, name = name, daemon = true}:start()
  end)
  if not ok then
    self:_start_failed()
    error(err, 3)
  end
end

-- "threading.Future", "threading.Lock"... for threading objects, else the type.
local function kind_of(v)
  local mt = getmetatable(v)
  return type(v) == "userdata" and type(mt) == "table" and mt.__name or type(v)
end

-- self must be an executor made by ThreadPoolExecutor (ex:submit, not ex.submit).
local function check_self(self, method)
  if not threading._executor_is(self) then
    error(("bad argument #1 to '%s' (ThreadPoolExecutor expected, got %s; use ':')"):format(method,
          kind_of(self)), 3)
  end
end

function Executor:submit(f, ...)
  check_self(self, "submit")
  local mt = getmetatable(f)
  if type(f) ~= "function" and not (mt and mt.__call) then
    error(("bad argument #1 to 'submit' (function expected, got %s)"):format(type(f)), 2)
  end
  local fut = threading.Future()
  -- Queued atomically with shutdown (or refused: false and why); an
  -- argument that cannot cross raises, naming it (f, args[2]...).
  local ok, name, err = pcall(self._put, self, fut, f, ...)
  if not ok then error(name, 2) end
  if name then start_worker(self, name)
  elseif name == false then error(err, 2) end
  return fut
end

-- map(f, list [, timeout]): submits f(list[i]) for every i now; returns an
-- iterator over the results in order, raising a task's error where it
-- occurs, or "TimeoutError" once timeout seconds have passed since the call.
-- Leaving the loop early (break, error, the timeout) cancels the tasks not
-- yet started, the one waited for included (Python's _result_or_cancel).
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
    for j = math.max(i, 1), #futures do futures[j]:cancel() end
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
  check_self(self, "shutdown")
  if wait == nil then wait = true end
  for _, f in ipairs(self:_shutdown(cancel_futures)) do f:cancel() end
  if wait then
    -- As Python, which joins every worker: a worker cannot wait for
    -- itself (shutdown() inside a task): it waits for the others, then
    -- raises.  The workers' ends are counted by the executor, so any
    -- number of shutdowns may wait, in any threads.
    local own, threads = self:_wait_workers()
    for _, t in ipairs(threads) do pcall(t.join, t) end -- their states closed too
    if own then error("RuntimeError: cannot join current thread", 2) end
  end
end

function Executor:__close()
  self:shutdown(true)
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
  local self = threading._executor(max_workers,
                                    prefix or ("ThreadPoolExecutor-%d"):format(threading._counter()))
  live_executors[self] = true
  if not atexit_registered then
    atexit_registered = true
    threading._register_atexit(function()
      for ex in pairs(live_executors) do
        -- (under stock lua5.4's lua_close a box may be collected already:
        -- the process's own shutdown covers its executor)
        local ok, open = pcall(function() return not ex._shutdown end)
        if ok and open then ex:shutdown(true) end
      end
    end)
  end
  return self
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
-- closes it: a for loop that ends early takes its waiter back.  As in
-- Python, the iterator keeps no reference to a future it has yielded.
function M.as_completed(fs, timeout)
  local deadline = deadline_after(timeout, 2)
  local list = distinct(fs)
  local total, finished, waiting, waiter, npending = #list, {}, {}, threading.Queue(), 0
  for _, f in ipairs(list) do
    if f:_add_waiter(waiter) then
      npending = npending + 1
      waiting[f] = true
    else
      finished[#finished + 1] = f
    end
  end
  list = nil
  local i = 0
  local closer = setmetatable({}, {__close = function()
    for f in pairs(waiting) do f:_remove_waiter(waiter) end
  end})
  return function()
    i = i + 1
    local f = finished[i]
    if f then
      finished[i] = nil
      return f
    end
    if npending == 0 then return nil end
    f = waiter:get(true, remaining(deadline))
    if f == nil then
      error(("TimeoutError: %d (of %d) futures unfinished"):format(npending, total), 2)
    end
    npending = npending - 1
    waiting[f] = nil
    return f
  end, nil, nil, closer
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
