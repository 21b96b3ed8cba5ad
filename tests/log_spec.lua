-- threading.log: Python-style logging whose configuration holds in every
-- thread and whose records are written whole (contract section 2, "Logging").
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_of
local assert_contains = helpers.assert_contains
local log = threading.log

local function run_in_thread(f, ...)
  local t = threading.Thread(f, ...)
  t:start()
  assert.is_true(t:join(30))
  return t:result()
end

local interpreter, shell_quote, run_child = helpers.interpreter, helpers.shell_quote, helpers.run_child

describe("threading.log", function()
  local lines -- a Queue receiving every line written

  -- Configures logging (force) to send lines to 'lines'.
  local function capture(opts)
    lines = threading.Queue()
    local q = lines
    opts.force = true
    opts.stream = function(line) q:put(line) end
    log.basicConfig(opts)
  end

  local function drain()
    local out = {}
    while true do
      local line = lines:get_nowait()
      if line == nil then return out end
      out[#out + 1] = line
    end
  end

  after_each(function()
    log.basicConfig{force = true} -- back to the defaults (stderr, WARNING)
    log.getLogger("app"):setLevel(log.NOTSET)
  end)

  it("is the same module through threading.log and require", function()
    assert.equal(require("threading.log"), log)
  end)

  it("writes Python's default format at WARNING and above, to stderr", function()
    local out, ok = run_child([[
      local log = require("threading").log
      log.debug("not shown")
      log.info("not shown either")
      log.warning("careful %d", 3)
      log.error("broken")
      log.critical("on fire")
      log.getLogger("db"):warning("slow query")
      io.stdout:write("stdout ends\n")
    ]])
    assert.is_true(ok, out)
    assert.is_nil(out:find("not shown", 1, true))
    assert_contains(out, "WARNING:root:careful 3\n")
    assert_contains(out, "ERROR:root:broken\n")
    assert_contains(out, "CRITICAL:root:on fire\n")
    assert_contains(out, "WARNING:db:slow query\n")
  end)

  it("filters by level, given by name or number", function()
    capture{level = "INFO", format = "%(levelname)s %(message)s"}
    log.debug("hidden")
    log.info("shown")
    capture{level = 40, format = "%(levelno)d %(message)s"}
    log.warning("hidden")
    log.error("err")
    log.log(45, "custom level")
    assert.same({"40 err\n", "45 custom level\n"}, drain())
    assert_contains(error_of(log.basicConfig, {level = "LOUD", force = true}), "ValueError: Unknown level: LOUD")
    assert.equal("WARNING", log.getLevelName(30))
    assert.equal("Level 45", log.getLevelName(45))
    assert.equal(10, log.DEBUG)
    assert.equal(50, log.CRITICAL)
  end)

  it("formats with string.format only when arguments are given", function()
    capture{level = "DEBUG", format = "%(message)s"}
    log.info("%d%% of %s", 50, "work")
    log.info("100% literal")
    log.info({} == nil and "" or 42)
    assert.same({"50% of work\n", "100% literal\n", "42\n"}, drain())
  end)

  it("supports widths, alignment and the record fields", function()
    capture{level = "DEBUG",
            format = "[%(threadName)-10s|%(levelname)8s|%(name)s|%(thread)d|%(filename)s:%(lineno)d|%%] %(message)s"}
    log.warning("hello")
    local line = drain()[1]
    local name = threading.current_thread().name
    local expected = ("[%-10s| WARNING|root|%d|log_spec.lua:"):format(name, threading.get_ident())
    assert.equal(expected, line:sub(1, #expected))
    assert.matches("|%%%] hello\n$", line)
  end)

  it("formats asctime as Python, or with datefmt", function()
    capture{format = "%(asctime)s %(message)s"}
    log.warning("x")
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d,%d%d%d x\n$", drain()[1])
    capture{format = "%(asctime)s %(message)s", datefmt = "%Y"}
    log.warning("y")
    assert.matches("^%d%d%d%d y\n$", drain()[1])
  end)

  it("rejects unknown fields and bad formats", function()
    assert_contains(error_of(log.basicConfig, {format = "%(nope)s", force = true}), "ValueError: unknown field %(nope)")
    assert_contains(error_of(log.basicConfig, {format = "%(message)", force = true}), "ValueError: invalid format")
    assert_contains(error_of(log.basicConfig, {stream = 42, force = true}), "TypeError")
  end)

  it("is configured once unless force is given (as Python)", function()
    capture{format = "first %(message)s"}
    log.basicConfig{format = "ignored %(message)s"}
    log.warning("m")
    assert.same({"first m\n"}, drain())
  end)

  it("takes effect in every thread, whichever thread configures it", function()
    capture{level = "DEBUG", format = "%(threadName)s:%(levelname)s:%(message)s"}
    run_in_thread(function()
      local log = require "threading.log"
      log.debug("from a thread")
    end)
    local q = threading.Queue()
    run_in_thread(function(q)
      local log = require "threading.log"
      log.basicConfig{force = true, level = "ERROR", format = "T %(message)s", stream = function(l) q:put(l) end}
    end, q)
    log.warning("dropped: the level is now ERROR")
    log.error("main after thread config")
    assert.same({"Thread-", "from a thread\n"}, {drain()[1]:match("^(Thread%-)%d+:DEBUG:(.*)$")})
    assert.equal("T main after thread config\n", q:get_nowait())
    assert.is_true(q:empty())
  end)

  it("gives loggers their own levels, inherited by dotted children", function()
    capture{level = "WARNING", format = "%(name)s %(message)s"}
    local app = log.getLogger("app")
    assert.equal(app, log.getLogger("app"))
    app:setLevel("DEBUG")
    assert.equal(10, log.getLogger("app.db"):getEffectiveLevel())
    assert.is_true(log.getLogger("app.db"):isEnabledFor("DEBUG"))
    log.getLogger("app.db"):debug("child debug")
    log.getLogger("other"):info("dropped")
    run_in_thread(function()
      require("threading.log").getLogger("app.db.x"):info("thread child info")
    end)
    assert.same({"app.db child debug\n", "app.db.x thread child info\n"}, drain())
    assert_contains(error_of(function() app.info("x") end), "use logger:info")
    assert.matches("Logger%(app, DEBUG%)", tostring(app))
  end)

  it("writes each record whole, even from many threads at once", function()
    local path = os.tmpname()
    log.basicConfig{force = true, filename = path, filemode = "w", level = "INFO",
                    format = "%(threadName)s %(message)s"}
    local ts = {}
    for i = 1, 4 do
      ts[i] = threading.Thread{name = "writer" .. i, target = function()
        local log = require "threading.log"
        for n = 1, 200 do log.info("record %d %s end", n, ("x"):rep(200)) end
      end}
      ts[i]:start()
    end
    for i = 1, 4 do assert.is_true(ts[i]:join(30)) end
    log.basicConfig{force = true}
    local count = 0
    for line in io.lines(path) do
      count = count + 1
      assert.matches("^writer%d record %d+ " .. ("x"):rep(200) .. " end$", line)
    end
    os.remove(path)
    assert.equal(800, count)
  end)

  it("can write to a table with a write method", function()
    local q = threading.Queue()
    log.basicConfig{force = true, format = "%(message)s", stream = {q = q, write = function(self, s) self.q:put(s) end}}
    log.error("via table")
    assert.equal("via table\n", q:get_nowait())
  end)
end)
