-- threading.trace: the user's events in a trace, and the exporters.
--
-- In a script (threading.trace, or require "threading.trace"), when the run
-- is traced (tlua --trace / --trace-svg; otherwise each costs a C call):
--   trace.mark(name)             an instant on this thread's track
--   trace.span(name, f, ...)     calls f(...) as a named span; returns its
--                                results (the span ends on an error too)
--   trace.counter(name, value)   a counter's new value (a queue's size is one
--                                automatically: "Queue created at x.lua:3: size")
--
-- The exporters turn the events recorded by the kernel (src/kernel/trace.c)
-- into per-thread spans and totals, and write them as Chrome trace-event
-- JSON (for Perfetto / chrome://tracing) or as an SVG timeline with a
-- per-thread summary table under it.  src/tools/outputs.c calls spans() and
-- the writers when the run ends.
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
local MARK, SPAN_BEGIN, SPAN_END, COUNTER = 8, 9, 10, 11

function M.mark(name) threading._trace_mark(name) end

function M.counter(name, value) threading._trace_counter(name, value) end

function M.span(name, f, ...)
  if not threading._trace_on() then return f(...) end
  threading._trace_span(name, true)
  local _ <close> = setmetatable({}, {__close = function() threading._trace_span(name, false) end})
  return f(...)
end

local LABEL = {[RUN] = "Lua", [GIL_WAIT] = "GIL wait", [SLEEP] = "sleep"}
-- Which total a state's time adds to.
local TOTAL = {[RUN] = "lua", [GIL_WAIT] = "gil_wait", [BLOCKED] = "blocked", [SLEEP] = "sleep"}
local COLOR = {lua = "#2e9d5b", gil_wait = "#d9453d", blocked = "#e8a33d", sleep = "#5b8fd9"}
local USER_COLOR = "#7b3fa0" -- the user's spans and counters

-- Collects the recorded events into spans per thread.  Each thread:
-- {id, name, spans = {{label, t0, t1, total}...}, forced = {ns...},
--  marks = {{ns, name}...}, user = {{name, t0, t1, depth}...} (the user's
--  spans), first = ns, last = ns (its end, or the trace's), totals = {lua =,
--  gil_wait =, blocked =, sleep = ns}}.  And the counters, in the order
-- first set: {{name, points = {{ns, value, thread id}...}}...}.
function M.spans(events)
  events = events or threading._trace_events()
  for k, e in ipairs(events) do e.seq = k end -- equal times keep the order of recording
  table.sort(events, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a.seq < b.seq) end)
  local threads, order = {}, {}
  local t0, t1 = math.huge, 0
  local function thread(id, ns)
    local th = threads[id]
    if not th then
      th = {id = id, name = "thread " .. id, spans = {}, forced = {}, marks = {}, user = {}, open_user = {},
            first = ns, totals = {lua = 0, gil_wait = 0, blocked = 0, sleep = 0}}
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
  local counters, counter_of = {}, {}
  for _, e in ipairs(events) do
    local ns, id, state, detail = e[1], e[2], e[3], e[4]
    t0, t1 = math.min(t0, ns), math.max(t1, ns)
    local th = thread(id, ns)
    if state == NAME then
      th.name = detail
    elseif state == FORCED then
      th.forced[#th.forced + 1] = ns
    elseif state == MARK then
      th.marks[#th.marks + 1] = {ns, detail}
    elseif state == SPAN_BEGIN then
      th.open_user[#th.open_user + 1] = {name = detail, t0 = ns, depth = #th.open_user}
    elseif state == SPAN_END then
      local open = table.remove(th.open_user)
      if open then
        open.t1 = ns
        th.user[#th.user + 1] = open
      end
    elseif state == COUNTER then
      local c = counter_of[detail]
      if not c then
        c = {name = detail, points = {}}
        counter_of[detail] = c
        counters[#counters + 1] = c
      end
      c.points[#c.points + 1] = {ns, e[5], id}
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
    for k = #th.open_user, 1, -1 do -- a span open at the end lasts as long as its thread
      th.open_user[k].t1 = th.last
      th.user[#th.user + 1] = th.open_user[k]
    end
    th.open_user = nil
  end
  table.sort(order, function(a, b) return a.first < b.first or (a.first == b.first and a.id < b.id) end)
  if t0 == math.huge then t0 = 0 end
  return {threads = order, counters = counters, t0 = t0, t1 = t1, dropped = events.dropped or 0}
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
    for _, m in ipairs(th.marks) do
      add('{"ph":"i","name":%s,"cat":"user","s":"t","pid":1,"tid":%d,"ts":%s}', output.json_string(m[2]), th.id,
          us(m[1]))
    end
    for _, s in ipairs(th.user) do
      add('{"ph":"X","name":%s,"cat":"user","pid":1,"tid":%d,"ts":%s,"dur":%.3f}', output.json_string(s.name),
          th.id, us(s.t0), (s.t1 - s.t0) / 1000)
    end
  end
  for _, c in ipairs(spans.counters or {}) do
    for _, p in ipairs(c.points) do
      add('{"ph":"C","name":%s,"pid":1,"tid":%d,"ts":%s,"args":{"value":%s}}', output.json_string(c.name), p[3],
          us(p[1]), output.json(p[2]))
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
  local counters = spans.counters or {}
  local name_w = output.text_width("thread", size)
  for _, th in ipairs(spans.threads) do name_w = math.max(name_w, output.text_width(th.name, size)) end
  for _, c in ipairs(counters) do name_w = math.max(name_w, output.text_width(c.name, size)) end
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
    for _, s in ipairs(th.user) do -- the user's spans: a bar along the top of the lane
      local x0, x1 = x(s.t0), x(s.t1)
      add('<rect x="%.2f" y="%d" width="%.2f" height="4" fill="%s"><title>%s %.3f ms</title></rect>', x0,
          y + 4 + math.min(s.depth, 3) * 5, math.max(x1 - x0, 0.5), USER_COLOR, output.xml(s.name),
          (s.t1 - s.t0) / 1e6)
    end
    for _, m in ipairs(th.marks) do -- marks: a triangle pointing down at the lane
      add('<path d="M%.2f %d l-4 -6 h8 z" fill="black"><title>%s at %.3f ms</title></path>', x(m[1]), y + 6,
          output.xml(m[2]), (m[1] - spans.t0) / 1e6)
    end
  end
  for i, c in ipairs(counters) do -- a lane per counter: its value as a step line
    local y = top + (n + i - 1) * lane
    local lo, hi = 0, 0
    for _, p in ipairs(c.points) do lo, hi = math.min(lo, p[2]), math.max(hi, p[2]) end
    local range = hi > lo and hi - lo or 1
    local function vy(v) return y + lane - 4 - (v - lo) / range * (lane - 8) end
    add('<text x="10" y="%d">%s</text>', y + lane // 2 + 4, output.xml(c.name))
    local pts, prev = {}, nil
    for _, p in ipairs(c.points) do
      if prev then pts[#pts + 1] = string.format("%.2f,%.2f", x(p[1]), vy(prev)) end
      pts[#pts + 1] = string.format("%.2f,%.2f", x(p[1]), vy(p[2]))
      prev = p[2]
    end
    if prev then pts[#pts + 1] = string.format("%.2f,%.2f", x(spans.t1), vy(prev)) end
    add('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.2"><title>%s: %s to %s</title></polyline>',
        table.concat(pts, " "), USER_COLOR, output.xml(c.name), output.json(lo), output.json(hi))
    add('<text x="%d" y="%d" font-size="10" fill="%s">max %s</text>', width - right + 2, y + 12, USER_COLOR,
        output.json(hi))
  end
  local axis_y = top + (n + #counters) * lane + 12
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
  lx = lx + 130
  add('<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d">your span</text>',
      lx, axis_y + 34, USER_COLOR, lx + 16, axis_y + 40)
  lx = lx + 100
  add('<path d="M%d %d l-4 -6 h8 z" fill="black"/><text x="%d" y="%d">mark</text>', lx + 4, axis_y + 38, lx + 12,
      axis_y + 40)

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
