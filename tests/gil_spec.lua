-- The GIL controls: gil_enabled, set_gil, the switch interval, gil_stats,
-- and forced switches between CPU-bound threads when it is on.
local threading = require "threading"
local helpers = require "helpers"
local error_of = helpers.error_of

local initially_on = os.getenv("TLUA_GIL") == "1"

describe("the GIL", function()
  after_each(function()
    threading.set_gil(initially_on)
    threading.setswitchinterval(0.005)
  end)

  it("is on exactly when TLUA_GIL=1", function()
    assert.equal(initially_on, threading.gil_enabled())
  end)

  it("can be switched while a single thread is alive", function()
    threading.set_gil(true)
    assert.is_true(threading.gil_enabled())
    assert.is_true(threading.gil_stats().enabled)
    threading.set_gil(false)
    assert.is_false(threading.gil_enabled())
    assert.is_false(threading.gil_stats().enabled)
    threading.set_gil(false) -- no change: fine
    threading.set_gil(true)
    threading.set_gil(true)
    assert.is_true(threading.gil_enabled())
    -- Threads run either way.
    local t = threading.Thread(function() return threading.gil_enabled() end)
    t:start()
    t:join()
    assert.is_true(t:result())
  end)

  it("cannot be switched while another thread is alive", function()
    local go = threading.Event()
    local t = threading.Thread(function() go:wait() end)
    t:start()
    finally(function() go:set() t:join() end)
    local before = threading.gil_enabled()
    assert.truthy(error_of(threading.set_gil, not before):find("RuntimeError", 1, true))
    assert.equal(before, threading.gil_enabled())
    threading.set_gil(before) -- asking for the current mode is harmless
    -- Nor from inside the other thread.
    local inner = threading.Thread(function()
      return pcall(threading.set_gil, not threading.gil_enabled())
    end)
    inner:start()
    inner:join()
    local ok, err = inner:result()
    assert.is_false(ok)
    assert.truthy(tostring(err):find("RuntimeError", 1, true))
  end)

  it("has a settable switch interval", function()
    assert.near(0.005, threading.getswitchinterval(), 1e-9)
    threading.setswitchinterval(0.02)
    assert.near(0.02, threading.getswitchinterval(), 1e-9)
    assert.near(0.02, threading.gil_stats().switch_interval, 1e-9)
    assert.truthy(error_of(threading.setswitchinterval, 0):find("ValueError", 1, true))
    assert.truthy(error_of(threading.setswitchinterval, -1):find("ValueError", 1, true))
    assert.truthy(error_of(threading.setswitchinterval, "x"):find("number expected", 1, true))
  end)

  it("reports statistics", function()
    local st = threading.gil_stats()
    for _, k in ipairs{"acquisitions", "contended", "forced_switches", "drop_requests"} do
      assert.equal("integer", math.type(st[k]), k)
      assert.is_true(st[k] >= 0)
    end
    assert.equal("float", math.type(st.wait_seconds))
    assert.is_boolean(st.enabled)
    assert.is_table(st.thread)
    assert.equal("integer", math.type(st.thread.acquisitions))
    assert.equal("integer", math.type(st.thread.forced_switches))
    assert.is_number(st.thread.wait_seconds)
  end)

  it("counts acquisitions when threads block and resume", function()
    threading.set_gil(true)
    local before = threading.gil_stats().acquisitions
    local t = threading.Thread(function() threading.sleep(0.001) end)
    t:start()
    t:join()
    assert.is_true(threading.gil_stats().acquisitions > before)
  end)

  it("forces switches between two CPU-bound threads when on", function()
    threading.set_gil(true)
    threading.setswitchinterval(0.001)
    local before = threading.gil_stats().forced_switches
    local ready = threading.Barrier(2)
    local function spin()
      ready:wait()
      local x = 0
      local stop = threading.monotonic() + 0.2
      while threading.monotonic() < stop do
        for i = 1, 1000 do x = x + i end
      end
      return threading.gil_stats().thread.forced_switches
    end
    local t1, t2 = threading.Thread(spin), threading.Thread(spin)
    t1:start()
    t2:start()
    t1:join()
    t2:join()
    local f1, f2 = t1:result(), t2:result()
    assert.is_true(threading.gil_stats().forced_switches > before)
    assert.is_true(f1 + f2 > 0)
  end)

  it("lets CPU-bound threads run when off", function()
    threading.set_gil(false)
    local before = threading.gil_stats().forced_switches
    local t = threading.Thread(function()
      local x = 0
      for i = 1, 100000 do x = x + i end
      return x
    end)
    t:start()
    t:join()
    assert.equal(5000050000, t:result())
    assert.equal(before, threading.gil_stats().forced_switches)
  end)
end)
