-- threading.compare: `tlua --compare [--runs N] [--threads 1,2,4] [--svg FILE] script.lua [args]`
--
-- Runs the script in child processes with the GIL off and on (and, with
-- --threads, once per thread count, passed to the script as arg[1]), N
-- times each (default 5), interleaving the modes so that a noisy machine
-- slows both alike.  Prints, per mode and thread count: median and
-- min-max wall time, median CPU time, speed-up against the smallest thread
-- count, and parallel efficiency.  --svg writes a chart of speed-up
-- against thread count for both modes, with the ideal line.
local M = {}

local USAGE = "usage: tlua --compare [--runs N] [--threads 1,2,4,...] [--svg FILE] script.lua [args]"

local function fail(msg)
  io.stderr:write("tlua --compare: ", msg, "\n", USAGE, "\n")
  return false
end

local function parse(argv)
  local o = {runs = 5, threads = nil, svg = nil, args = {}}
  local i = 1
  while argv[i] and argv[i]:sub(1, 2) == "--" do
    local name, value = argv[i], argv[i + 1]
    if name == "--runs" then
      o.runs = math.tointeger(tonumber(value))
      if not o.runs or o.runs < 1 then return nil, "--runs needs a positive integer" end
    elseif name == "--threads" then
      o.threads = {}
      for n in tostring(value):gmatch("[^,]+") do
        local k = math.tointeger(tonumber(n))
        if not k or k < 1 then return nil, "--threads needs a list like 1,2,4" end
        o.threads[#o.threads + 1] = k
      end
      if #o.threads == 0 then return nil, "--threads needs a list like 1,2,4" end
    elseif name == "--svg" then
      if not value then return nil, "--svg needs a file name" end
      o.svg = value
    else
      return nil, "unknown option " .. name
    end
    i = i + 2
  end
  o.script = argv[i]
  if not o.script then return nil, "no script given" end
  for k = i + 1, #argv do o.args[#o.args + 1] = argv[k] end
  return o
end

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- One child run: returns wall seconds, CPU seconds, or nil and a message.
local function run_once(exe, o, gil, threads, tmp)
  local threading = require "threading"
  local cmd = {quote(exe), "--rusage", quote(tmp), "-X", "gil=" .. (gil and 1 or 0), quote(o.script)}
  if threads then cmd[#cmd + 1] = tostring(threads) end
  for _, a in ipairs(o.args) do cmd[#cmd + 1] = quote(a) end
  local line = table.concat(cmd, " ") .. " >/dev/null 2>" .. quote(tmp .. ".err")
  local t0 = threading.monotonic()
  local ok, how, code = os.execute(line)
  local wall = threading.monotonic() - t0
  if not ok then
    local f = io.open(tmp .. ".err")
    local err = f and f:read("a") or ""
    if f then f:close() end
    return nil, string.format("the script failed (%s %s, GIL %s%s):\n%s", how, code, gil and "on" or "off",
                              threads and (", " .. threads .. " threads") or "", err)
  end
  local f = io.open(tmp)
  local cpu = f and f:read("n")
  if f then f:close() end
  return wall, cpu or 0
end

local function median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

local function progress_bar(tty, done, total, what)
  if tty then
    local width = 30
    local filled = math.floor(width * done / total)
    io.stderr:write(string.format("\r[%s%s] %d/%d %-28s", string.rep("#", filled), string.rep(".", width - filled),
                                  done, total, what))
    if done == total then io.stderr:write("\n") end
  else
    io.stderr:write(string.format("run %d/%d: %s\n", done, total, what))
  end
end

local function write_svg(path, counts, rows, title, cores)
  local W, H, left, bottom, top, right = 640, 420, 60, 50, 40, 150
  local maxc = counts[#counts]
  local maxs = math.min(maxc / counts[1], cores) -- the ideal line's top
  for _, r in ipairs(rows) do maxs = math.max(maxs, r.speedup) end
  local function x(c) return left + (c - counts[1]) / math.max(maxc - counts[1], 1) * (W - left - right) end
  local function y(s) return H - bottom - s / maxs * (H - top - bottom) end
  local out = {}
  local function add(...) out[#out + 1] = string.format(...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">', W, H)
  add('<rect width="100%%" height="100%%" fill="white"/>')
  add('<text x="%d" y="22" font-size="14">%s</text>', left, title:gsub("[<>&]", ""))
  add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>', left, H - bottom, W - right, H - bottom)
  add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>', left, H - bottom, left, top)
  for _, c in ipairs(counts) do
    add('<text x="%.1f" y="%d" text-anchor="middle">%d</text>', x(c), H - bottom + 16, c)
  end
  for k = 0, math.ceil(maxs) do
    add('<text x="%d" y="%.1f" text-anchor="end">%d</text>', left - 6, y(k) + 4, k)
    add('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eeeeee"/>', left, y(k), W - right, y(k))
  end
  add('<text x="%d" y="%d" text-anchor="middle">threads</text>', (left + W - right) // 2, H - 12)
  add('<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle">speed-up</text>', H // 2, H // 2)
  local series = {
    {"ideal (" .. cores .. " cores)", "#999999", "6,4", function(c) return math.min(c / counts[1], cores) end},
    {"GIL off", "#2e9d5b", nil}, {"GIL on", "#d9453d", nil},
  }
  for k, s in ipairs(series) do
    local pts = {}
    for _, c in ipairs(counts) do
      local v
      if s[4] then v = s[4](c)
      else
        for _, r in ipairs(rows) do if r.threads == c and r.gil == (k == 3) then v = r.speedup end end
      end
      if v then pts[#pts + 1] = string.format("%.1f,%.1f", x(c), y(v)) end
    end
    add('<polyline fill="none" stroke="%s" stroke-width="2" %s points="%s"/>', s[2],
        s[3] and ('stroke-dasharray="' .. s[3] .. '"') or "", table.concat(pts, " "))
    add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" %s/>', W - right + 15, top + 20 * k,
        W - right + 40, top + 20 * k, s[2], s[3] and ('stroke-dasharray="' .. s[3] .. '"') or "")
    add('<text x="%d" y="%d">%s</text>', W - right + 46, top + 20 * k + 4, s[1])
  end
  add("</svg>")
  local f = assert(io.open(path, "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
end

-- argv: the words after --compare; exe: the path of the tlua binary.
function M.main(argv, exe)
  local o, err = parse(argv)
  if not o then return fail(err) end
  exe = exe or "tlua"
  local tmp = os.tmpname()
  local tty = os.execute("test -t 2")
  local counts = o.threads or {false}
  local samples = {}
  local total, done = o.runs * #counts * 2, 0
  for _ = 1, o.runs do
    for _, c in ipairs(counts) do
      for _, gil in ipairs{false, true} do
        local key = tostring(c) .. (gil and "on" or "off")
        samples[key] = samples[key] or {wall = {}, cpu = {}}
        local wall, cpu = run_once(exe, o, gil, c or nil, tmp)
        if not wall then
          os.remove(tmp); os.remove(tmp .. ".err")
          io.stderr:write("\n")
          return fail(cpu)
        end
        table.insert(samples[key].wall, wall)
        table.insert(samples[key].cpu, cpu)
        done = done + 1
        progress_bar(tty, done, total, string.format("GIL %s%s", gil and "on" or "off",
                                                     c and (", " .. c .. " threads") or ""))
      end
    end
  end
  os.remove(tmp); os.remove(tmp .. ".err")

  local rows = {}
  for _, gil in ipairs{false, true} do
    local base
    for _, c in ipairs(counts) do
      local s = samples[tostring(c) .. (gil and "on" or "off")]
      local med = median(s.wall)
      base = base or med
      local lo, hi = math.min(table.unpack(s.wall)), math.max(table.unpack(s.wall))
      local speedup = base / med
      rows[#rows + 1] = {gil = gil, threads = c, median = med, lo = lo, hi = hi, cpu = median(s.cpu),
                         speedup = speedup, efficiency = c and speedup / (c / counts[1]) or 1}
    end
  end
  local cores = 1
  local p = io.popen("nproc 2>/dev/null")
  if p then cores = tonumber(p:read("l")) or 1; p:close() end
  print(string.format("%s: %d runs per row, %d cores", o.script, o.runs, cores))
  print(string.format("%-8s %8s %10s %19s %9s %9s %10s", "GIL", "threads", "median s", "min-max s", "CPU s",
                      "speed-up", "efficiency"))
  for _, r in ipairs(rows) do
    print(string.format("%-8s %8s %10.3f %9.3f-%-9.3f %9.3f %8.2fx %9.0f%%", r.gil and "on" or "off",
                        r.threads or "-", r.median, r.lo, r.hi, r.cpu, r.speedup, r.efficiency * 100))
  end
  if o.svg then
    if not o.threads then return fail("--svg needs --threads") end
    write_svg(o.svg, o.threads, rows, string.format("%s: speed-up, %d cores", o.script:match("[^/]*$"), cores), cores)
    print("chart written to " .. o.svg)
  end
  return true
end

return M
