-- threading.trace: turns the events recorded by `tlua --trace` (src/kernel/trace.c)
-- into per-thread spans and totals, and writes them as Chrome trace-event
-- JSON (for Perfetto / chrome://tracing) or as an SVG timeline with a
-- per-thread summary table under it.  src/host/host.c calls spans() and the
-- writers at exit.
--
--   local trace = require "threading.trace"
--   local spans = trace.spans()          -- {threads = {...}, t0 = ns, t1 = ns, dropped = n}
--   trace.write_json("out.json", spans)
--   trace.write_svg("out.svg", spans)
--   for _, row in ipairs(trace.summary(spans)) do print(row.name, row.wall_s, row.lua) end
--
-- Threads come in creation order (their first event); a writer that cannot
-- write its file raises a message without a traceback.
local threading = require "threading"
local output = require "threading._output"

local M = {}

-- Event states, as tl_trace_state in src/kernel/kernel.h.
local NAME, RUN, GIL_WAIT, BLOCKED, SLEEP, FORCED, END = 1, 2, 3, 4, 5, 6, 7

local LABEL = {[RUN] = "Lua", [GIL_WAIT] = "GIL wait", [SLEEP] = "sleep"}
-- Which total a state's time adds to.
local TOTAL = {[RUN] = "lua", [GIL_WAIT] = "gil_wait", [BLOCKED] = "blocked", [SLEEP] = "sleep"}
local COLOR = {lua = "#2e9d5b", gil_wait = "#d9453d", blocked = "#e8a33d", sleep = "#5b8fd9"}

-- Collects the recorded events into spans per thread.  Each thread:
-- {id, name, spans = {{label, t0, t1, total}...}, forced = {ns...},
--  first = ns, last = ns (its end, or the trace's), totals = {lua =,
--  gil_wait =, blocked =, sleep = ns}}.
function M.spans(events)
  events = events or threading._trace_events()
  table.sort(events, function(a, b) return a[1] < b[1] end)
  local threads, order = {}, {}
  local t0, t1 = math.huge, 0
  local function thread(id, ns)
    local th = threads[id]
    if not th then
      th = {id = id, name = "thread " .. id, spans = {}, forced = {}, first = ns,
            totals = {lua = 0, gil_wait = 0, blocked = 0, sleep = 0}}
      threads[id] = th
      order[#order + 1] = th
    end
    return th
  end
  local function close(th, ns)
    local open = th.open
    th.open = nil
    if open and ns > open.t0 then
      open.t1 = ns
      th.spans[#th.spans + 1] = open
      th.totals[open.total] = th.totals[open.total] + (ns - open.t0)
    end
  end
  for _, e in ipairs(events) do
    local ns, id, state, detail = e[1], e[2], e[3], e[4]
    t0, t1 = math.min(t0, ns), math.max(t1, ns)
    local th = thread(id, ns)
    if state == NAME then
      th.name = detail
    elseif state == FORCED then
      th.forced[#th.forced + 1] = ns
    else
      close(th, ns)
      if state == END then
        th.last = ns
      else
        th.open = {label = LABEL[state] or detail or "blocked", t0 = ns, total = TOTAL[state] or "blocked"}
      end
    end
  end
  t1 = math.max(t1, events.stop or 0) -- when the run ended (a deadlock report, a signal...)
  for _, th in ipairs(order) do -- what was still open runs to the end of the trace
    close(th, t1)
    th.last = th.last or t1
  end
  table.sort(order, function(a, b) return a.first < b.first or (a.first == b.first and a.id < b.id) end)
  if t0 == math.huge then t0 = 0 end
  return {threads = order, t0 = t0, t1 = t1, dropped = events.dropped or 0}
end

-- Per thread, in creation order: {name, wall_s, lua, gil_wait, blocked,
-- sleep}, the last four as fractions of the thread's wall time.
function M.summary(spans)
  local rows = {}
  for k, th in ipairs(spans.threads) do
    local wall = th.last - th.first
    local row = {name = th.name, wall_s = wall / 1e9}
    for what, ns in pairs(th.totals) do row[what] = wall > 0 and ns / wall or 0 end
    rows[k] = row
  end
  return rows
end

local function write(path, text)
  local ok, err = output.write_file(path, text)
  if not ok then output.raise("cannot write the trace: " .. err) end
end

-- Trace Event Format: every event has ph, pid, tid and ts (microseconds
-- from the start of the trace); "X" events have dur; metadata events name
-- the process and the threads and keep them in creation order.
function M.write_json(path, spans)
  local out = {}
  local function add(...) out[#out + 1] = string.format(...) end
  local function us(ns) return string.format("%.3f", (ns - spans.t0) / 1000) end
  add('{"ph":"M","name":"process_name","pid":1,"tid":0,"ts":0,"args":{"name":"tlua"}}')
  for k, th in ipairs(spans.threads) do
    add('{"ph":"M","name":"thread_name","pid":1,"tid":%d,"ts":0,"args":{"name":%s}}', th.id,
        output.json_string(th.name))
    add('{"ph":"M","name":"thread_sort_index","pid":1,"tid":%d,"ts":0,"args":{"sort_index":%d}}', th.id, k)
    for _, s in ipairs(th.spans) do
      add('{"ph":"X","name":%s,"cat":"%s","pid":1,"tid":%d,"ts":%s,"dur":%.3f}', output.json_string(s.label),
          s.total == "blocked" and "blocked" or "state", th.id, us(s.t0), (s.t1 - s.t0) / 1000)
    end
    for _, ns in ipairs(th.forced) do
      add('{"ph":"i","name":"forced GIL drop","s":"t","pid":1,"tid":%d,"ts":%s}', th.id, us(ns))
    end
  end
  local other = {gil = threading.gil_enabled(), dropped_events = spans.dropped, threads = M.summary(spans)}
  write(path, '{"displayTimeUnit":"ms","otherData":' .. output.json(other) .. ',"traceEvents":[\n' ..
              table.concat(out, ",\n") .. "\n]}\n")
end

-- The timeline: a lane per thread, a legend, and the summary table.
function M.write_svg(path, spans, title)
  local size, lane, top, right = 12, 28, 50, 40
  local n = #spans.threads
  local name_w = output.text_width("thread", size)
  for _, th in ipairs(spans.threads) do name_w = math.max(name_w, output.text_width(th.name, size)) end
  local label_w = math.ceil(math.max(100, name_w + 20))
  local width = label_w + 830 + right
  local span_ns = math.max(spans.t1 - spans.t0, 1)
  local function x(ns) return label_w + (ns - spans.t0) / span_ns * (width - label_w - right) end
  local out = {}
  local function add(...) out[#out + 1] = string.format(...) end
  title = title or string.format("tlua trace, GIL %s: %d threads, %.3f s", threading.gil_enabled() and "on" or "off",
                                 n, span_ns / 1e9)
  add('<text x="10" y="22" font-size="15">%s</text>', output.xml(title))
  for i, th in ipairs(spans.threads) do
    local y = top + (i - 1) * lane
    add('<text x="10" y="%d">%s</text>', y + lane // 2 + 4, output.xml(th.name))
    for _, s in ipairs(th.spans) do
      local x0, x1 = x(s.t0), x(s.t1)
      add('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s %.3f ms</title></rect>',
          x0, y + 4, math.max(x1 - x0, 0.5), lane - 8, COLOR[s.total], output.xml(s.label), (s.t1 - s.t0) / 1e6)
    end
    for _, ns in ipairs(th.forced) do
      add('<line x1="%.2f" x2="%.2f" y1="%d" y2="%d" stroke="black" stroke-width="0.6"/>', x(ns), x(ns), y + 2,
          y + lane - 2)
    end
  end
  local axis_y = top + n * lane + 12
  add('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>', label_w, width - right, axis_y, axis_y)
  for k = 0, 5 do
    local ns = spans.t0 + span_ns * k / 5
    add('<text x="%.1f" y="%d" text-anchor="middle">%.1f ms</text>', x(ns), axis_y + 16, (ns - spans.t0) / 1e6)
  end
  local columns = {{"lua", "Lua"}, {"gil_wait", "GIL wait"}, {"blocked", "blocked"}, {"sleep", "sleep"}}
  local lx = label_w
  for _, c in ipairs(columns) do
    add('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>',
        lx, axis_y + 30, COLOR[c[1]], lx + 16, axis_y + 40, c[2])
    lx = lx + 100
  end
  add('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/><text x="%d" y="%d">forced GIL drop</text>',
      lx, lx, axis_y + 28, axis_y + 44, lx + 6, axis_y + 40)

  -- The summary: per thread, its wall time and how it was spent.
  local table_y = axis_y + 75
  local headers = {"thread", "wall time", "running Lua", "waiting for the GIL", "blocked", "sleeping"}
  local col_x = {10} -- the name's left edge, then each figure's right edge
  for k = 2, #headers do col_x[k] = math.ceil((k == 2 and label_w or col_x[k - 1]) + 24 +
                                              math.max(60, output.text_width(headers[k], size))) end
  local function anchor(k) return k > 1 and ' text-anchor="end"' or "" end
  for k, h in ipairs(headers) do
    add('<text x="%d" y="%d" font-weight="bold"%s>%s</text>', col_x[k], table_y, anchor(k), h)
  end
  for i, row in ipairs(M.summary(spans)) do
    local y = table_y + 18 * i
    local wall = row.wall_s < 1 and string.format("%.1f ms", row.wall_s * 1e3) or string.format("%.3f s", row.wall_s)
    local cells = {output.xml(row.name), wall}
    for _, c in ipairs(columns) do cells[#cells + 1] = string.format("%.0f%%", row[c[1]] * 100) end
    for k, cell in ipairs(cells) do
      add('<text x="%d" y="%d"%s>%s</text>', col_x[k], y, anchor(k), cell)
    end
  end
  local height = table_y + 18 * n + 20
  table.insert(out, 1, string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" ' ..
                                     'font-family="sans-serif" font-size="%d">', width, height, size))
  table.insert(out, 2, '<rect width="100%" height="100%" fill="white"/>')
  add("</svg>")
  write(path, table.concat(out, "\n") .. "\n")
end

return M
