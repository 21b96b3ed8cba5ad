--[[
threading.log -- thread-aware logging in the style of Python's logging
module (threading.log, or require "threading.log").

  log.basicConfig{level=, format=, datefmt=, stream=, filename=, filemode=, force=}
  log.debug/info/warning/error/critical(fmt, ...), log.log(level, fmt, ...)
  log.getLogger([name]) -> a logger with the same methods (called with
    ':'), setLevel(level), getEffectiveLevel(), isEnabledFor(level), name;
    sent to another thread it is that thread's logger of the same name
  log.DEBUG .. log.CRITICAL, log.getLevelName(level)

The configuration is process-wide: it lives in a threading.shared table
that threading._once creates exactly once per process, so basicConfig in
any thread takes effect in every thread.  Each state caches what it read,
keyed by a version number that every change increments; changes are made
under a process-wide Lock.

Each record is formatted completely, then written with a single call
(stream:write, file:write followed by flush, or the handler function), so
records from different threads never interleave inside a line.  A record
that cannot be formatted or written is reported on stderr ("--- Logging
error ---", as Python's Handler.handleError) instead of raising into the
caller.
]]
local threading = require "threading"

local M = {
  CRITICAL = 50, FATAL = 50, ERROR = 40, WARNING = 30, WARN = 30, INFO = 20, DEBUG = 10, NOTSET = 0,
}

local level_names = {[50] = "CRITICAL", [40] = "ERROR", [30] = "WARNING", [20] = "INFO", [10] = "DEBUG", [0] = "NOTSET"}

local DEFAULT_FORMAT = "%(levelname)s:%(name)s:%(message)s"

-- The process-wide state: {config = shared table, lock = Lock, start = time}.
local process = threading._once("threading.log", function()
  local config = threading.shared()
  config.version = 0
  config.level = M.WARNING
  config.format = DEFAULT_FORMAT
  return {config = config, lock = threading.Lock(), start = threading._time()}
end)
local config = process.config

function M.getLevelName(level)
  if type(level) == "number" then return level_names[level] or ("Level %d"):format(level) end
  return M[level] or ("Level %s"):format(tostring(level))
end

local function check_level(level, argn)
  if math.type(level) == "integer" then return level end
  if type(level) == "string" and level_names[M[level] or -1] then return M[level] end
  error(("ValueError: Unknown level: %s"):format(tostring(level)), argn + 1)
end

-- --- formats ------------------------------------------------------------

local fields = {
  name = true, levelno = true, levelname = true, message = true, asctime = true, msecs = true,
  created = true, relativeCreated = true, thread = true, threadName = true, filename = true,
  pathname = true, lineno = true, funcName = true, module = true,
}
local caller_fields = {filename = true, pathname = true, lineno = true, funcName = true, module = true}

-- Compiles a %-style format into a list of literal strings and {key, spec}.
local function compile(format)
  local parts, pos, uses = {}, 1, {}
  while true do
    local s = format:find("%", pos, true)
    if s == nil then break end
    if s > pos then parts[#parts + 1] = format:sub(pos, s - 1) end
    if format:sub(s + 1, s + 1) == "%" then
      parts[#parts + 1] = "%"
      pos = s + 2
    else
      local key, spec, conv, e = format:match("^%(([%w_]+)%)([-#0 +]*%d*%.?%d*)([sdifrxXeEgGc])()", s + 1)
      if key == nil then error(("ValueError: invalid format %q at position %d"):format(format, s), 3) end
      if not fields[key] then error(("ValueError: unknown field %%(%s) in log format"):format(key), 3) end
      if conv == "r" then conv = "s" end
      if conv == "i" then conv = "d" end
      parts[#parts + 1] = {key, "%" .. spec .. conv, conv}
      uses[key] = true
      pos = e
    end
  end
  if pos <= #format then parts[#parts + 1] = format:sub(pos) end
  return {parts = parts, uses = uses}
end

local function render(compiled, record)
  local out = {}
  for i, p in ipairs(compiled.parts) do
    if type(p) == "string" then
      out[i] = p
    else
      local v = record[p[1]]
      if p[3] == "s" then v = tostring(v)
      elseif p[3] == "d" or p[3] == "x" or p[3] == "X" or p[3] == "c" then v = math.tointeger(v) or math.floor(tonumber(v) or 0) end
      out[i] = p[2]:format(v)
    end
  end
  return table.concat(out)
end

-- --- this state's view of the configuration ----------------------------

local cache = {version = -1} -- level, compiled, datefmt, output, levels[name]

local function load_cache()
  local lock = process.lock
  lock:acquire()
  local ok, err = pcall(function()
    local version = config.version
    if version == cache.version then return end
    if cache.file then cache.file:close() end
    cache = {version = version, level = config.level, compiled = compile(config.format),
             datefmt = config.datefmt, stream = config.stream, handler = config.handler,
             filename = config.filename, levels = {}, logger_levels = config.logger_levels}
  end)
  lock:release()
  if not ok then error(err, 0) end
end

local function current()
  if config.version ~= cache.version then load_cache() end
  return cache
end

local function effective_level(c, name)
  local lv = c.levels[name]
  if lv then return lv end
  lv = c.level
  if name ~= "root" and c.logger_levels then
    local n = name
    while n do
      local own = c.logger_levels[n]
      if own and own ~= 0 then lv = own break end
      n = n:match("^(.*)%.[^.]*$")
    end
  end
  c.levels[name] = lv
  return lv
end

local function write_line(c, line)
  if c.handler ~= nil then
    if type(c.handler) == "function" then c.handler(line) else c.handler:write(line) end
  elseif c.filename ~= nil then
    if c.file == nil then
      c.file = assert(io.open(c.filename, "a"))
      c.file:setvbuf("full", 65536)
    end
    c.file:write(line)
    c.file:flush()
  elseif c.stream == "stdout" then
    io.stdout:write(line)
  else
    io.stderr:write(line)
  end
end

-- A value as "Arguments: (...)" shows it; never raises.
local function show(v)
  if type(v) == "string" then return ("%q"):format(v) end
  local ok, text = pcall(tostring, v)
  if ok and type(text) == "string" then return text end
  return ("(a %s value)"):format(type(v))
end

-- Python's Handler.handleError: a record that cannot be formatted or
-- written is reported on stderr, with the error's traceback, the message
-- and its arguments; the caller goes on.
local function report_error(traceback, fmt, ...)
  local args = {}
  for i = 1, select("#", ...) do args[i] = show((select(i, ...))) end
  pcall(io.stderr.write, io.stderr, ("--- Logging error ---\n%s\nMessage: %s\nArguments: (%s)\n"):format(
    traceback, show(fmt), table.concat(args, ", ")))
end

local function error_traceback(e)
  local msg = type(e) == "string" and e or show(e)
  return debug.traceback(msg, 2)
end

-- Formats and writes one record (in protected mode: see emit).
local function format_and_write(c, name, level, info, fmt, ...)
  local msg
  if select("#", ...) > 0 then msg = string.format(fmt, ...) else msg = tostring(fmt) end
  local now = threading._time()
  local record = {
    name = name, levelno = level, levelname = M.getLevelName(level), message = msg,
    created = now, msecs = math.floor((now % 1) * 1000),
    relativeCreated = (now - process.start) * 1000,
  }
  local uses = c.compiled.uses
  if uses.asctime then
    local secs = math.floor(now)
    if c.datefmt then
      record.asctime = os.date(c.datefmt, secs)
    else
      record.asctime = os.date("%Y-%m-%d %H:%M:%S", secs) .. (",%03d"):format(record.msecs)
    end
  end
  if uses.thread then record.thread = threading.get_ident() end
  if uses.threadName then record.threadName = threading.current_thread().name end
  if info then
    local path = info.short_src or "?"
    record.pathname = path
    record.filename = path:match("[^/]*$")
    record.module = record.filename:gsub("%.lua$", "")
    record.lineno = info.currentline or 0
    record.funcName = info.name or "?"
  end
  write_line(c, render(c.compiled, record) .. "\n")
end

-- Emits a record if 'level' is enabled for logger 'name'; 'depth' is the
-- stack level of the user's call (for %(lineno)d and friends).  A record
-- that cannot be formatted or written is reported (report_error).
local function emit(name, level, depth, fmt, ...)
  local c = current()
  if level < effective_level(c, name) then return end
  local info
  for k in pairs(caller_fields) do
    if c.compiled.uses[k] then
      info = debug.getinfo(depth + 1, "Sln") or {}
      break
    end
  end
  local ok, traceback = xpcall(format_and_write, error_traceback, c, name, level, info, fmt, ...)
  if not ok then report_error(traceback, fmt, ...) end
end

-- --- configuration ---------------------------------------------------------

local function stream_name(stream)
  if stream == nil or stream == io.stderr or stream == "stderr" then return "stderr" end
  if stream == io.stdout or stream == "stdout" then return "stdout" end
  return nil -- a custom handler
end

-- basicConfig{level=, format=, datefmt=, stream=, filename=, filemode=, force=}:
-- configures every thread; does nothing once configured unless force=true.
-- stream: io.stderr (default), io.stdout, "stderr", "stdout", a function
-- called with each line, or a table with a write method (t:write(line));
-- functions and tables are copied into each thread that logs.
function M.basicConfig(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bad argument #1 to 'basicConfig' (table expected)", 2) end
  local level = opts.level ~= nil and check_level(opts.level, 2) or nil
  local format = opts.format or DEFAULT_FORMAT
  if type(format) ~= "string" then
    error(("TypeError: format must be a string, got %s"):format(type(format)), 2)
  end
  if opts.datefmt ~= nil and type(opts.datefmt) ~= "string" then
    error(("TypeError: datefmt must be a string, got %s"):format(type(opts.datefmt)), 2)
  end
  compile(format) -- validates
  if opts.stream ~= nil and opts.filename ~= nil then
    error("ValueError: 'stream' and 'filename' should not be specified together", 2)
  end
  local handler
  if opts.stream ~= nil and stream_name(opts.stream) == nil then
    handler = opts.stream
    local mt = getmetatable(handler)
    if type(handler) ~= "function" and type(handler) ~= "table" and not (mt and mt.__call) then
      error("TypeError: stream must be io.stderr, io.stdout, a function or a table with a write method", 2)
    end
  end
  local filemode = opts.filemode or "a"
  if opts.filename ~= nil and filemode ~= "a" then
    local f = assert(io.open(opts.filename, filemode))
    f:close()
  end
  local lock = process.lock
  lock:acquire()
  local ok, err = pcall(function()
    if config.configured and not opts.force then return end
    config.configured = true
    if level then config.level = level end
    config.format = format
    config.datefmt = opts.datefmt
    config.stream = handler == nil and opts.filename == nil and stream_name(opts.stream) or nil
    config.handler = handler
    config.filename = opts.filename
    config.version = config.version + 1
  end)
  lock:release()
  if not ok then error(err, 2) end
end

-- --- loggers -----------------------------------------------------------------

local Logger = {}
Logger.__index = Logger
Logger.__name = "Logger"

function Logger:__tostring()
  return ("Logger(%s, %s)"):format(self.name, M.getLevelName(self:getEffectiveLevel()))
end

-- Sent to another thread (a queue item, an argument...), a logger arrives
-- as that thread's logger of the same name, as Python pickles a Logger by
-- name: the receiver calls require("threading.log").getLogger(name).
function Logger:__reduce()
  return "threading.log", "getLogger", self.name
end

local function set_level(name, level)
  local lock = process.lock
  lock:acquire()
  local ok, err = pcall(function()
    if name == "root" then
      config.level = level
    else
      local levels = config.logger_levels or {}
      levels[name] = level
      config.logger_levels = levels
    end
    config.version = config.version + 1
  end)
  lock:release()
  if not ok then error(err, 3) end
end

function Logger:setLevel(level) set_level(self.name, check_level(level, 2)) end
function Logger:getEffectiveLevel() return effective_level(current(), self.name) end
function Logger:isEnabledFor(level) return check_level(level, 2) >= self:getEffectiveLevel() end

local loggers = {}

function M.getLogger(name)
  name = name or "root"
  if type(name) ~= "string" then
    error(("TypeError: logger name must be a string, got %s"):format(type(name)), 2)
  end
  local lg = loggers[name]
  if lg == nil then
    lg = setmetatable({name = name}, Logger)
    loggers[name] = lg
  end
  return lg
end

for lname, level in pairs{debug = 10, info = 20, warning = 30, warn = 30, error = 40, critical = 50} do
  Logger[lname] = function(self, fmt, ...)
    if getmetatable(self) == Logger then emit(self.name, level, 2, fmt, ...) return end
    error(("use logger:%s(...), not logger.%s(...)"):format(lname, lname), 2)
  end
  M[lname] = function(fmt, ...) emit("root", level, 2, fmt, ...) end
end

function Logger:log(level, fmt, ...) emit(self.name, check_level(level, 2), 2, fmt, ...) end
function M.log(level, fmt, ...) emit("root", check_level(level, 2), 2, fmt, ...) end

return M
