-- threading.Timer: runs f(...) after an interval unless cancelled first;
-- in every other respect a Thread.
local threading = require "threading"

describe("Timer", function()
  it("calls the function with its arguments after the interval", function()
    local t0 = threading.monotonic()
    local t = threading.Timer(0.1, function(a, b)
      return a + b, threading.monotonic()
    end, 40, 2)
    t:start()
    assert.is_true(t:join(30))
    local sum, fired_at = t:result()
    assert.equal(42, sum)
    assert.is_true(fired_at - t0 >= 0.09, "fired after " .. (fired_at - t0))
    assert.is_false(t:is_alive())
  end)

  it("fires at once with a zero interval", function()
    local t = threading.Timer(0, function() return "now" end):start()
    assert.is_true(t:join(30))
    assert.equal("now", t:result())
  end)

  it("does not run when cancelled before it fires", function()
    local ran = threading.shared{yes = false}
    local t = threading.Timer(30, function(r) r.yes = true end, ran)
    t:start()
    assert.is_true(t:is_alive())
    assert.is_false(t:join(0.02))
    local t0 = threading.monotonic()
    t:cancel()
    assert.is_true(t:join(10))
    assert.is_true(threading.monotonic() - t0 < 10)
    assert.is_false(ran.yes)
    assert.is_false(t:is_alive())
    t:cancel() -- again: a no-op
  end)

  it("does not run when cancelled before it is started", function()
    local ran = threading.shared{yes = false}
    local t = threading.Timer(0, function(r) r.yes = true end, ran)
    t:cancel()
    t:start()
    assert.is_true(t:join(10))
    assert.is_false(ran.yes)
  end)

  it("ignores cancel() after it fired", function()
    local count = threading.shared{n = 0}
    local t = threading.Timer(0.01, function(c)
      c.n = c.n + 1
      return "fired"
    end, count)
    t:start()
    assert.is_true(t:join(30))
    t:cancel()
    assert.equal(1, count.n)
    assert.equal("fired", t:result())
  end)

  it("is a Thread: name, daemon, start once, tostring", function()
    local t = threading.Timer(30, function() end)
    assert.matches("^Thread%-%d+$", t.name)
    t.name = "tick"
    assert.equal("tick", t.name)
    t.daemon = true
    assert.is_true(t.daemon)
    assert.matches("^Timer%(tick, initial daemon%)$", tostring(t))
    assert.is_false(t:is_alive())
    assert.has_error(function() t:join() end, "RuntimeError: cannot join thread before it is started")
    t:start()
    assert.is_true(t:is_alive())
    assert.matches("^Timer%(tick, started daemon", tostring(t))
    assert.has_error(function() t:start() end, "RuntimeError: threads can only be started once")
    assert.error_matches(function() t.daemon = false end, "cannot set daemon status of active thread")
    t:cancel()
    assert.is_true(t:join(10))
    assert.matches("^Timer%(tick, stopped daemon", tostring(t))
  end)

  it("appears among the alive threads while pending", function()
    local t = threading.Timer(30, function() end)
    t.name = "pending-timer"
    t:start()
    local found = false
    for _, th in ipairs(threading.enumerate()) do
      if th == t then found = true end
    end
    t:cancel()
    assert.is_true(t:join(10))
    assert.is_true(found)
  end)

  it("checks its arguments", function()
    assert.error_matches(function() threading.Timer(-1, function() end) end,
      "ValueError: interval must be a non-negative number", nil, true)
    assert.error_matches(function() threading.Timer(0 / 0, function() end) end, "ValueError")
    assert.error_matches(function() threading.Timer(1, 42) end, "function")
  end)

  it("is a type of its own: a Thread has no cancel, a Timer says Timer", function()
    local th = threading.Thread(function() end)
    assert.is_nil(th.cancel)
    assert.error_matches(function() th:cancel() end, "method 'cancel'")
    local t = threading.Timer(1, function() end)
    assert.equal("threading.Timer", getmetatable(t).__name)
    assert.matches("^Timer%(Thread%-%d+, initial%)$", tostring(t))
    assert.equal("threading.Thread", getmetatable(th).__name)
    -- a Timer is a Thread in every other respect
    t.name = "alarm"
    assert.equal("alarm", t.name)
    t:cancel()
    t:start()
    assert.is_true(t:join(10))
    assert.is_false(t:is_alive())
  end)

  it("can be cancelled from another thread", function()
    local ran = threading.shared{yes = false}
    local t = threading.Timer(30, function(r) r.yes = true end, ran)
    t:start()
    local canceller = threading.Thread(function(timer) timer:cancel() end, t):start()
    assert.is_true(canceller:join(30))
    assert.is_true(t:join(10))
    assert.is_false(ran.yes)
  end)
end)
