-- threading.trace: turns the events recorded by `tlua --trace` (src/trace.c)
-- into per-thread spans, and writes them as Chrome trace-event JSON (for
-- Perfetto / chrome://tracing) or as an SVG timeline.
--
--   local trace = require "threading.trace"
--   local spans = trace.spans()          -- {threads = {...}, t0 = ns, t1 = ns, dropped = n}
--   trace.write_json("out.json", spans)
--   trace.write_svg("out.svg", spans)
local threading = require "threading"

local M = {}

-- Event states, as tl_trace_state in src/kernel/kernel.h.
local NAME, RUN, GIL_WAIT, BLOCKED, SLEEP, FORCED, END = 1, 2, 3, 4, 5, 6, 7

local LABEL = {[RUN] = "Lua", [GIL_WAIT] = "GIL wait", [SLEEP] = "sleep"}
local COLOR = {Lua = "#2e9d5b", ["GIL wait"] = "#d9453d", sleep = "#5b8fd9"}
local BLOCKED_COLOR = "#e8a33d"

-- Collects the recorded events into spans per thread.
function M.spans(events)
  events = events or threading._trace_events()
  table.sort(events, function(a, b) return a[1] < b[1] end)
  local threads, order = {}, {}
  local t0, t1 = math.huge, 0
  local function thread(id)
    local th = threads[id]
    if not th then
      th = {id = id, name = "thread " .. id, spans = {}, forced = {}}
      threads[id] = th
      order[#order + 1] = th
    end
    return th
  end
  for _, e in ipairs(events) do
    local ns, id, state, detail = e[1], e[2], e[3], e[4]
    t0, t1 = math.min(t0, ns), math.max(t1, ns)
    local th = thread(id)
    if state == NAME then
      th.name = detail
    elseif state == FORCED then
      th.forced[#th.forced + 1] = ns
    else
      if th.open then
        th.open.t1 = ns
        if th.open.t1 > th.open.t0 then th.spans[#th.spans + 1] = th.open end
        th.open = nil
      end
      if state ~= END then
        local label = LABEL[state] or detail or "blocked"
        th.open = {label = label, t0 = ns, blocked = (state == BLOCKED)}
      end
    end
  end
  for _, th in ipairs(order) do -- close what was still open at the end
    if th.open then
      th.open.t1 = t1
      if th.open.t1 > th.open.t0 then th.spans[#th.spans + 1] = th.open end
      th.open = nil
    end
  end
  table.sort(order, function(a, b) return a.id < b.id end)
  if t0 == math.huge then t0 = 0 end
  return {threads = order, t0 = t0, t1 = t1, dropped = events.dropped or 0}
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function M.write_json(path, spans)
  local f = assert(io.open(path, "w"))
  local out = {}
  local function us(ns) return string.format("%.3f", (ns - spans.t0) / 1000) end
  for _, th in ipairs(spans.threads) do
    out[#out + 1] = string.format('{"ph":"M","name":"thread_name","pid":1,"tid":%d,"args":{"name":%s}}',
                                  th.id, json_string(th.name))
    for _, s in ipairs(th.spans) do
      out[#out + 1] = string.format('{"ph":"X","name":%s,"cat":"%s","pid":1,"tid":%d,"ts":%s,"dur":%.3f}',
                                    json_string(s.label), s.blocked and "blocked" or "state", th.id,
                                    us(s.t0), (s.t1 - s.t0) / 1000)
    end
    for _, ns in ipairs(th.forced) do
      out[#out + 1] = string.format('{"ph":"i","name":"forced GIL drop","s":"t","pid":1,"tid":%d,"ts":%s}',
                                    th.id, us(ns))
    end
  end
  f:write('{"displayTimeUnit":"ms","otherData":{"gil":', tostring(threading.gil_enabled()),
          ',"dropped_events":', tostring(spans.dropped), '},"traceEvents":[\n',
          table.concat(out, ",\n"), "\n]}\n")
  f:close()
end

local function xml(s) return (s:gsub("[<>&\"]", {["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;", ['"'] = "&quot;"})) end

function M.write_svg(path, spans, title)
  local lane, label_w, width, top = 28, 150, 1000, 50
  local n = #spans.threads
  local height = top + n * lane + 70
  local span_ns = math.max(spans.t1 - spans.t0, 1)
  local function x(ns) return label_w + (ns - spans.t0) / span_ns * (width - label_w - 20) end
  local out = {}
  local function add(...) out[#out + 1] = string.format(...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">', width, height)
  add('<rect width="100%%" height="100%%" fill="white"/>')
  add('<text x="10" y="22" font-size="15">%s</text>', xml(title or string.format("tlua trace, GIL %s: %d threads, %.3f s",
      threading.gil_enabled() and "on" or "off", n, span_ns / 1e9)))
  for i, th in ipairs(spans.threads) do
    local y = top + (i - 1) * lane
    add('<text x="10" y="%d">%s</text>', y + lane // 2 + 4, xml(th.name))
    for _, s in ipairs(th.spans) do
      local x0, x1 = x(s.t0), x(s.t1)
      local color = s.blocked and BLOCKED_COLOR or COLOR[s.label] or "#999999"
      add('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s %.3f ms</title></rect>',
          x0, y + 4, math.max(x1 - x0, 0.5), lane - 8, color, xml(s.label), (s.t1 - s.t0) / 1e6)
    end
    for _, ns in ipairs(th.forced) do
      add('<line x1="%.2f" x2="%.2f" y1="%d" y2="%d" stroke="black" stroke-width="0.6"/>', x(ns), x(ns), y + 2, y + lane - 2)
    end
  end
  local axis_y = top + n * lane + 12
  add('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>', label_w, width - 20, axis_y, axis_y)
  for k = 0, 5 do
    local ns = spans.t0 + span_ns * k / 5
    add('<text x="%.1f" y="%d" text-anchor="middle">%.1f ms</text>', x(ns), axis_y + 16, (ns - spans.t0) / 1e6)
  end
  local lx = label_w
  for _, item in ipairs{{"Lua", COLOR.Lua}, {"GIL wait", COLOR["GIL wait"]}, {"blocked", BLOCKED_COLOR},
                        {"sleep", COLOR.sleep}} do
    add('<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>',
        lx, axis_y + 30, item[2], lx + 16, axis_y + 40, item[1])
    lx = lx + 100
  end
  add('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/><text x="%d" y="%d">forced GIL drop</text>',
      lx, lx, axis_y + 28, axis_y + 44, lx + 6, axis_y + 40)
  add("</svg>")
  local f = assert(io.open(path, "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
end

return M
