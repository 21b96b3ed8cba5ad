-- threading.compare: `tlua --compare`, an experiment runner.  src/host/host.c
-- calls main(argv, exe) with the words after --compare.
--
-- Runs a script in child tlua processes under every configuration: the -X
-- options given are passed to every run, each --sweep NAME=V1,V2 makes one
-- configuration per value (the GIL off and on, gil=0,1, unless gil is
-- given or swept), and with --threads each thread count is passed to the
-- script as arg[1].  N runs of each (default 5), interleaved so that a
-- noisy machine slows every configuration alike.  Prints, per
-- configuration and thread count, the median and min-max wall time, CPU
-- time and CPU/wall, the speed-up against the smallest thread count and
-- the time against the first configuration; --csv and --json write every
-- run, --svg draws a chart.  Every argument is checked before the first
-- run.  docs/tools.md shows it at work.
local threading = require "threading"
local output = require "threading._output"

local M = {}

local USAGE = [[
usage: tlua --compare [options] script.lua [args]
  --runs N            runs per configuration and thread count (default 5)
  --threads 1,2,4     thread counts, passed to the script as arg[1]
  -X NAME=VALUE       an -X option for every run (repeatable)
  --sweep NAME=V1,V2  one configuration per value of -X NAME (repeatable);
                      without -X gil=... or a gil sweep, gil=0,1 is swept
  --svg FILE          a chart: speed-up against threads, or wall time per configuration
  --csv FILE          every run: options, threads, run, wall s, CPU s, exit status
  --json FILE         the same, and the summary rows
  --show-output       pass each run's stdout through, under a header line]]

-- An argument error (status 1).
local function usage_error(msg)
  io.stderr:write("tlua --compare: ", msg, "\n(tlua --compare --help lists the options)\n")
  return false
end

-- Any other failure (status 1).
local function failure(msg)
  io.stderr:write("tlua --compare: ", msg, "\n")
  return false
end

local function warning(msg) io.stderr:write("tlua --compare: warning: ", msg, "\n") end

local quote = output.shell_quote

------------------------------------------------------------------------
-- Arguments
------------------------------------------------------------------------

-- "a,b,c" -> {"a", "b", "c"}; nil when the list or an item is empty or an
-- item is repeated.
local function split_list(s)
  if not s or s == "" then return nil end
  local items, seen = {}, {}
  for item in (s .. ","):gmatch("([^,]*),") do
    if item == "" or seen[item] then return nil end
    seen[item] = true
    items[#items + 1] = item
  end
  return items
end

-- "name=value" -> name, value
local function name_value(s) return (s or ""):match("^([%a_][%w_]*)=(.+)$") end

-- The options that take a value: each checks it and stores it in o;
-- returns an error message if the value is bad.
local TAKES_VALUE = {
  ["--runs"] = function(o, v)
    o.runs = math.tointeger(tonumber(v))
    if not o.runs or o.runs < 1 then return "--runs needs a positive integer, not " .. tostring(v) end
  end,
  ["--threads"] = function(o, v)
    local items = split_list(v)
    if not items then return "--threads needs a list of different counts like 1,2,4, not " .. tostring(v) end
    o.threads = {}
    for k, item in ipairs(items) do
      o.threads[k] = math.tointeger(tonumber(item))
      if not o.threads[k] or o.threads[k] < 1 then return "--threads: " .. item .. " is not a thread count" end
    end
    table.sort(o.threads)
  end,
  ["-X"] = function(o, v)
    local name, value = name_value(v)
    if not name then return "-X needs NAME=VALUE, not " .. tostring(v) end
    if o.given[name] then return "-X " .. name .. " is given twice (or also swept)" end
    o.given[name] = true
    o.fixed[#o.fixed + 1] = {name, value}
  end,
  ["--sweep"] = function(o, v)
    local name, list = name_value(v)
    local values = split_list(list)
    if not values then return "--sweep needs NAME=V1,V2,... with different values, not " .. tostring(v) end
    if o.given[name] then return name .. " is swept twice (or also given with -X)" end
    o.given[name] = true
    o.sweeps[#o.sweeps + 1] = {name = name, values = values}
  end,
  ["--svg"] = function(o, v) o.svg = v end,
  ["--csv"] = function(o, v) o.csv = v end,
  ["--json"] = function(o, v) o.json = v end,
}

-- Returns the options, "help", or nil and a message.
local function parse(argv)
  local o = {runs = 5, fixed = {}, sweeps = {}, given = {}, args = {}}
  local i = 1
  while argv[i] do
    local a = argv[i]
    if a == "--" then i = i + 1; break end
    if a == "-" or a:sub(1, 1) ~= "-" then break end
    local attached = a:match("^%-X(.+)$") -- -Xgil=1, as lua's -e and -l
    if attached then
      local err = TAKES_VALUE["-X"](o, attached)
      if err then return nil, err end
    elseif TAKES_VALUE[a] then
      i = i + 1
      if argv[i] == nil then return nil, a .. " needs a value" end
      local err = TAKES_VALUE[a](o, argv[i])
      if err then return nil, err end
    elseif a == "--show-output" then
      o.show_output = true
    elseif a == "--help" or a == "-h" then
      return "help"
    else
      return nil, "unknown option " .. a
    end
    i = i + 1
  end
  o.script = argv[i]
  if not o.script then return nil, "no script given" end
  if o.script == "-" then return nil, "the script must be a file (it is run several times)" end
  table.move(argv, i + 1, #argv, 1, o.args)
  if not o.given.gil then table.insert(o.sweeps, 1, {name = "gil", values = {"0", "1"}}) end
  return o
end

-- Every combination of the swept values: a list of configurations, each a
-- list of {name, value} in sweep order.
local function configurations(sweeps)
  local configs = {{}}
  for _, sweep in ipairs(sweeps) do
    local longer = {}
    for _, config in ipairs(configs) do
      for _, value in ipairs(sweep.values) do
        local c = table.move(config, 1, #config, 1, {})
        c[#c + 1] = {sweep.name, value}
        longer[#longer + 1] = c
      end
    end
    configs = longer
  end
  return configs
end

-- How a configuration is shown: "GIL off, switchinterval=0.001".
local GIL_WORDS = {["0"] = "off", ["1"] = "on"}
local function shown(name, value) return name == "gil" and (GIL_WORDS[value] or value) or value end
local function describe_option(nv)
  return nv[1] == "gil" and "GIL " .. shown("gil", nv[2]) or nv[1] .. "=" .. nv[2]
end
local function describe(config)
  local parts = {}
  for k, nv in ipairs(config) do parts[k] = describe_option(nv) end
  return table.concat(parts, ", ")
end

-- The -X words of a run: the fixed options, then the configuration's.
local function x_words(o, config)
  local words = {}
  for _, list in ipairs{o.fixed, config} do
    for _, nv in ipairs(list) do
      words[#words + 1] = "-X"
      words[#words + 1] = quote(nv[1] .. "=" .. nv[2])
    end
  end
  return words
end

-- Everything that can be checked before the first run: the script can be
-- read, the output files written, and the interpreter takes each
-- configuration's -X options (it alone knows the valid names and values;
-- one quick run of `tlua -X ... -e ''` each).  Returns true or nil and a
-- message.
local function check(o, exe, configs)
  local f, err = io.open(o.script, "r")
  if not f then return nil, "cannot open the script: " .. err end
  f:close()
  for _, opt in ipairs{"svg", "csv", "json"} do
    if o[opt] then
      local ok, werr = output.check_writable(o[opt])
      if not ok then return nil, "--" .. opt .. ": cannot write " .. werr end
    end
  end
  for _, config in ipairs(configs) do
    local line = quote(exe) .. " " .. table.concat(x_words(o, config), " ") .. " -e '' >/dev/null 2>" ..
                 quote(o.tmp .. ".err") .. " </dev/null"
    if not os.execute(line) then
      local message = (output.read_file(o.tmp .. ".err") or ""):gsub("\n$", "")
      if message:sub(1, #exe + 1) == exe .. ":" then message = "tlua" .. message:sub(#exe + 1) end
      return nil, "the interpreter rejects " .. table.concat(x_words(o, config), " "):gsub("'", "") .. ":\n" .. message
    end
  end
  return true
end

------------------------------------------------------------------------
-- Runs
------------------------------------------------------------------------

-- One child run; returns {wall = s, cpu = s or nil, status = exit status
-- (128 + N when killed by signal N)}.
local function run_once(exe, o, config, threads)
  local cmd = {quote(exe), "--rusage", quote(o.tmp .. ".cpu")}
  for _, word in ipairs(x_words(o, config)) do cmd[#cmd + 1] = word end
  cmd[#cmd + 1] = quote(o.script)
  if threads then cmd[#cmd + 1] = tostring(threads) end
  for _, a in ipairs(o.args) do cmd[#cmd + 1] = quote(a) end
  local line = table.concat(cmd, " ") .. " >" .. (o.show_output and quote(o.tmp .. ".out") or "/dev/null") ..
               " 2>" .. quote(o.tmp .. ".err")
  os.remove(o.tmp .. ".cpu")
  local t0 = threading.monotonic()
  local _, how, code = os.execute(line)
  local wall = threading.monotonic() - t0
  return {wall = wall, cpu = tonumber((output.read_file(o.tmp .. ".cpu") or ""):match("^%S*")),
          status = how == "signal" and 128 + code or code}
end

-- label: "run 3/8: GIL on, 2 threads"
local function progress(tty, done, total, label)
  if tty then
    local width = 30
    local filled = math.floor(width * done / total)
    io.stderr:write(string.format("\r[%s%s] %-50s", string.rep("#", filled), string.rep(".", width - filled), label))
    if done == total then io.stderr:write("\n") end
  else
    io.stderr:write(label, "\n")
  end
end

-- Runs everything, interleaved: in each round, every thread count and
-- configuration once.  Returns the list of runs, and the failed run if
-- one failed (which stops the comparison).
local function run_all(exe, o, configs, counts)
  local tty = not o.show_output and os.execute("test -t 2")
  local runs, total = {}, o.runs * #counts * #configs
  for round = 1, o.runs do
    for _, threads in ipairs(counts) do
      for _, config in ipairs(configs) do
        local r = run_once(exe, o, config, threads or nil)
        r.config, r.threads, r.round = config, threads or nil, round
        runs[#runs + 1] = r
        local what = describe(config)
        if threads then
          local count = string.format("%d thread%s", threads, threads > 1 and "s" or "")
          what = what == "" and count or what .. ", " .. count
        end
        local label = string.format("run %d/%d", #runs, total) .. (what ~= "" and ": " .. what or "")
        progress(tty, #runs, total, label)
        if o.show_output then
          local text = output.read_file(o.tmp .. ".out") or ""
          io.write("--- ", label, " (stdout) ---\n", text, (text == "" or text:sub(-1) == "\n") and "" or "\n")
          io.flush()
        end
        if r.status ~= 0 then
          if tty then io.stderr:write("\n") end
          r.error = string.format("%s failed with exit status %d:\n%s", label, r.status,
                                  output.read_file(o.tmp .. ".err") or "")
          return runs, r
        end
      end
    end
  end
  return runs
end

------------------------------------------------------------------------
-- Summary
------------------------------------------------------------------------

local function median(xs)
  local s = table.move(xs, 1, #xs, 1, {})
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- One row per configuration and thread count (configurations outermost):
-- median, min, max wall time, median CPU time, the speed-up against the
-- configuration's smallest thread count (with its min-max range), and the
-- time against the first configuration at the same thread count.
local function summarise(runs, configs, counts)
  local rows, by_key = {}, {}
  for ci, config in ipairs(configs) do
    for _, threads in ipairs(counts) do
      local row = {config = config, threads = threads or nil, wall = {}, cpu = {}}
      rows[#rows + 1] = row
      by_key[ci .. ":" .. tostring(threads)] = row
    end
  end
  local index = {}
  for ci, config in ipairs(configs) do index[config] = ci end
  for _, r in ipairs(runs) do
    local row = by_key[index[r.config] .. ":" .. tostring(r.threads or false)]
    row.wall[#row.wall + 1] = r.wall
    if r.cpu then row.cpu[#row.cpu + 1] = r.cpu end
  end
  for _, row in ipairs(rows) do
    row.median = median(row.wall)
    row.min, row.max = math.min(table.unpack(row.wall)), math.max(table.unpack(row.wall))
    row.cpu_median = #row.cpu > 0 and median(row.cpu) or nil
  end
  for _, row in ipairs(rows) do
    local base = by_key[index[row.config] .. ":" .. tostring(counts[1])]
    row.speedup, row.speedup_min, row.speedup_max = base.median / row.median, base.median / row.max,
                                                    base.median / row.min
    row.efficiency = row.threads and row.speedup / (row.threads / counts[1]) or 1
    row.ratio = row.median / by_key["1:" .. tostring(row.threads or false)].median
  end
  return rows
end

-- Prints cells in columns as wide as their widest cell; the first
-- `text_columns` columns are left-aligned, the others right-aligned.
local function print_columns(headers, lines, text_columns)
  local widths = {}
  for c, h in ipairs(headers) do
    widths[c] = #h
    for _, line in ipairs(lines) do widths[c] = math.max(widths[c], #line[c]) end
  end
  for _, line in ipairs{headers, table.unpack(lines)} do
    local cells = {}
    for c, cell in ipairs(line) do
      cells[c] = string.format("%" .. (c <= text_columns and "-" or "") .. widths[c] .. "s", cell)
    end
    print((table.concat(cells, "  "):gsub("%s+$", "")))
  end
end

local function print_summary(o, rows, configs, counts)
  local headers, text_columns = {}, 0
  for _, sweep in ipairs(o.sweeps) do
    headers[#headers + 1] = sweep.name == "gil" and "GIL" or sweep.name
    text_columns = text_columns + 1
  end
  if o.threads then headers[#headers + 1] = "threads" end
  for _, h in ipairs{"median s", "min-max s", "CPU s", "CPU/wall"} do headers[#headers + 1] = h end
  if #counts > 1 then headers[#headers + 1] = "speed-up"; headers[#headers + 1] = "efficiency" end
  if #configs > 1 then headers[#headers + 1] = "vs " .. describe(configs[1]) end
  local lines = {}
  for _, row in ipairs(rows) do
    local cells = {}
    for k, nv in ipairs(row.config) do cells[k] = shown(nv[1], nv[2]) end
    if o.threads then cells[#cells + 1] = tostring(row.threads) end
    cells[#cells + 1] = string.format("%.3f", row.median)
    cells[#cells + 1] = string.format("%.3f-%.3f", row.min, row.max)
    cells[#cells + 1] = row.cpu_median and string.format("%.3f", row.cpu_median) or "?"
    cells[#cells + 1] = row.cpu_median and string.format("%.2f", row.cpu_median / row.median) or "?"
    if #counts > 1 then
      cells[#cells + 1] = string.format("%.2fx", row.speedup)
      cells[#cells + 1] = string.format("%.0f%%", row.efficiency * 100)
    end
    if #configs > 1 then cells[#cells + 1] = string.format("%.2fx", row.ratio) end
    lines[#lines + 1] = cells
  end
  print_columns(headers, lines, text_columns)
  if #configs == 2 and #counts == 1 then
    print(string.format("%s takes %.2fx the wall time of %s", describe(configs[2]), rows[2].ratio,
                        describe(configs[1])))
  elseif #configs > 1 then
    print(string.format("vs %s: median wall time / that of %s%s", describe(configs[1]), describe(configs[1]),
                        #counts > 1 and " at the same thread count" or ""))
  end
end

-- The 1-minute load average, or nil.
local function load_average()
  return tonumber((output.read_file("/proc/loadavg") or ""):match("^(%S+)"))
end

-- A single-threaded run should keep one core busy: CPU/wall well below 1
-- means other processes took the core (or the script waits).  Runs
-- shorter than 0.1 s are left out: starting a process weighs too much.
local function warn_if_starved(rows)
  local worst
  for _, row in ipairs(rows) do
    if row.threads == 1 and row.cpu_median and row.median >= 0.1 then
      local busy = row.cpu_median / row.median
      if busy < 0.8 and (not worst or busy < worst.busy) then worst = {busy = busy, row = row} end
    end
  end
  if worst then
    warning(string.format("the 1-thread runs (%s) used %.2f s of CPU per second of wall time: other jobs took the " ..
                          "core (unless the script sleeps or waits for I/O), timings are noisy",
                          describe(worst.row.config), worst.busy))
  end
end

------------------------------------------------------------------------
-- Files: CSV, JSON, SVG
------------------------------------------------------------------------

-- The option names of the runs: the swept ones, then the fixed ones.
local function option_names(o)
  local names = {}
  for _, sweep in ipairs(o.sweeps) do names[#names + 1] = sweep.name end
  for _, nv in ipairs(o.fixed) do names[#names + 1] = nv[1] end
  return names
end

-- Every option of a run, by name.
local function run_options(o, config)
  local t = {}
  for _, list in ipairs{o.fixed, config} do
    for _, nv in ipairs(list) do t[nv[1]] = nv[2] end
  end
  return t
end

local function csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

local function csv_text(o, runs)
  local names = option_names(o)
  local lines = {table.concat(names, ",") .. ",threads,run,wall_s,cpu_s,status"}
  for _, r in ipairs(runs) do
    local opts, cells = run_options(o, r.config), {}
    for k, name in ipairs(names) do cells[k] = csv_cell(opts[name]) end
    local values = {r.threads, r.round, string.format("%.6f", r.wall), r.cpu and string.format("%.6f", r.cpu),
                    r.status}
    for k = 1, 5 do cells[#cells + 1] = csv_cell(values[k]) end
    lines[#lines + 1] = table.concat(cells, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

local function json_text(o, runs, rows, context)
  local null = output.null
  local doc = {script = o.script, args = output.array(o.args), cores = context.cores,
               load_average = context.load or null, runs_per_point = o.runs, threads = o.threads or null,
               options = {}, sweep = {}, runs = output.array(), summary = output.array()}
  for _, nv in ipairs(o.fixed) do doc.options[nv[1]] = nv[2] end
  for _, sweep in ipairs(o.sweeps) do doc.sweep[sweep.name] = sweep.values end
  for _, r in ipairs(runs) do
    doc.runs[#doc.runs + 1] = {options = run_options(o, r.config), threads = r.threads or null, run = r.round,
                               wall_s = r.wall, cpu_s = r.cpu or null, status = r.status}
  end
  for _, row in ipairs(rows or {}) do
    doc.summary[#doc.summary + 1] = {options = run_options(o, row.config), threads = row.threads or null,
                                     median_s = row.median, min_s = row.min, max_s = row.max,
                                     cpu_s = row.cpu_median or null, speedup = row.speedup, ratio = row.ratio}
  end
  return output.json(doc) .. "\n"
end

-- Writes the run records (CSV, JSON) that were asked for; returns true or
-- nil and a message.
local function write_records(o, runs, rows, context)
  for _, file in ipairs{{o.csv, csv_text}, {o.json, json_text}} do
    if file[1] then
      local ok, err = output.write_file(file[1], file[2](o, runs, rows, context))
      if not ok then return nil, err end
    end
  end
  return true
end

-- A tick step of 1, 2, 2.5 or 5 times a power of ten giving at most
-- `ticks` steps up to maxv.
local function tick_step(maxv, ticks)
  local raw = maxv / ticks
  local magnitude = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs{1, 2, 2.5, 5, 10} do
    if raw <= m * magnitude then return m * magnitude end
  end
end

local PALETTE = {"#2e9d5b", "#d9453d", "#3d6fd9", "#e8a33d", "#8e44ad", "#16a0a0", "#7f7f7f", "#b5651d"}

-- The chart's contents.  With several thread counts: speed-up against
-- threads, a series per configuration, and the ideal for CPU-bound work.
-- Otherwise: median wall time per configuration, one series.  Each point:
-- {x = position, y, lo, hi}; x_ticks: {x = position, lines = {label...}}.
local function chart_data(rows, configs, counts, cores)
  if #counts > 1 then
    local series, ticks = {}, {}
    for ci, config in ipairs(configs) do
      local s = {label = #config > 0 and describe(config) or "measured", color = PALETTE[(ci - 1) % #PALETTE + 1],
                 points = {}}
      for _, row in ipairs(rows) do
        if row.config == config then
          s.points[#s.points + 1] = {x = row.threads, y = row.speedup, lo = row.speedup_min, hi = row.speedup_max}
        end
      end
      series[ci] = s
    end
    local ideal = {label = string.format("ideal if CPU-bound (%d cores)", cores), color = "#999999",
                   dash = "6,4", points = {}}
    for _, c in ipairs(counts) do
      ideal.points[#ideal.points + 1] = {x = c, y = math.min(c, cores) / math.min(counts[1], cores)}
      ticks[#ticks + 1] = {x = c, lines = {tostring(c)}}
    end
    series[#series + 1] = ideal
    return {series = series, x_ticks = ticks, x_min = counts[1], x_max = counts[#counts], x_pad = 20,
            x_title = "threads", y_title = "speed-up", what = "speed-up against threads"}
  end
  local s, ticks = {label = "median wall time", color = PALETTE[3], points = {}, unjoined = true}, {}
  for k, row in ipairs(rows) do
    s.points[k] = {x = k, y = row.median, lo = row.min, hi = row.max}
    local lines = {}
    for i, nv in ipairs(row.config) do lines[i] = describe_option(nv) end
    ticks[k] = {x = k, lines = lines}
  end
  return {series = {s}, x_ticks = ticks, x_min = 0.5, x_max = #rows + 0.5, x_title = "",
          y_title = "wall time, s", what = "wall time per configuration"}
end

-- The SVG text of the chart; title names the script and its arguments.
local function svg_text(data, title, subtitle)
  local size = 12
  local y_max = 0
  for _, s in ipairs(data.series) do
    for _, p in ipairs(s.points) do y_max = math.max(y_max, p.hi or p.y) end
  end
  local step = tick_step(math.max(y_max, 1e-9) * 1.05, 6)
  y_max = math.ceil(y_max * 1.05 / step) * step
  local y_labels, y_label_w = {}, 0
  for k = 0, math.floor(y_max / step + 0.5) do
    y_labels[#y_labels + 1] = {v = k * step, text = string.format("%g", k * step)}
    y_label_w = math.max(y_label_w, output.text_width(y_labels[#y_labels].text, size))
  end
  local tick_w, tick_lines = 0, 1
  for _, t in ipairs(data.x_ticks) do
    tick_lines = math.max(tick_lines, #t.lines)
    for _, line in ipairs(t.lines) do tick_w = math.max(tick_w, output.text_width(line, size)) end
  end
  local legend_w = 0
  for _, s in ipairs(data.series) do legend_w = math.max(legend_w, output.text_width(s.label, size)) end
  local left, top = math.ceil(y_label_w + 40), 70
  local plot_w = math.ceil(math.max(440, #data.x_ticks * (tick_w + 16)))
  local plot_h = 280
  local right = math.ceil(legend_w + 70)
  local bottom = tick_lines * 15 + 40
  local W = math.ceil(math.max(left + plot_w + right, output.text_width(title, 14) + 20,
                               output.text_width(subtitle, size) + 20))
  local H = top + plot_h + bottom
  local pad = data.x_pad or 0 -- keeps the first and last points off the axes
  local function x(v)
    return left + pad + (v - data.x_min) / math.max(data.x_max - data.x_min, 1e-9) * (plot_w - 2 * pad)
  end
  local function y(v) return top + plot_h - v / y_max * plot_h end
  local out = {}
  local function add(...) out[#out + 1] = string.format(...) end
  add('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="%d">',
      W, H, size)
  add('<rect width="100%%" height="100%%" fill="white"/>')
  add('<text x="10" y="24" font-size="14">%s</text>', output.xml(title))
  add('<text x="10" y="44" fill="#555555">%s</text>', output.xml(subtitle))
  for _, l in ipairs(y_labels) do
    add('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eeeeee"/>', left, y(l.v), left + plot_w, y(l.v))
    add('<text x="%d" y="%.1f" text-anchor="end">%s</text>', left - 6, y(l.v) + 4, l.text)
  end
  add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>', left, top + plot_h, left + plot_w, top + plot_h)
  add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>', left, top + plot_h, left, top)
  for _, t in ipairs(data.x_ticks) do
    for k, line in ipairs(t.lines) do
      add('<text x="%.1f" y="%d" text-anchor="middle">%s</text>', x(t.x), top + plot_h + 2 + 15 * k, output.xml(line))
    end
  end
  add('<text x="%.1f" y="%d" text-anchor="middle">%s</text>', left + plot_w / 2, H - 10, data.x_title)
  add('<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>', top + plot_h / 2,
      top + plot_h / 2, data.y_title)
  for k, s in ipairs(data.series) do
    local dash = s.dash and ('stroke-dasharray="' .. s.dash .. '" ') or ""
    local pts = {}
    for _, p in ipairs(s.points) do
      pts[#pts + 1] = string.format("%.1f,%.1f", x(p.x), y(p.y))
      if p.lo then -- the min-max bar
        add('<path d="M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8" stroke="%s" stroke-width="1.5"/>', x(p.x), y(p.lo),
            y(p.hi), x(p.x) - 4, y(p.lo), x(p.x) - 4, y(p.hi), s.color)
      end
      if not s.dash then add('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>', x(p.x), y(p.y), s.color) end
    end
    if #pts > 1 and not s.unjoined then
      add('<polyline fill="none" stroke="%s" stroke-width="2" %spoints="%s"/>', s.color, dash, table.concat(pts, " "))
    end
    local ly = top + 20 * k
    if s.unjoined then
      add('<circle cx="%d" cy="%d" r="3" fill="%s"/>', left + plot_w + 27, ly, s.color)
    else
      add('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" %s/>', left + plot_w + 15, ly,
          left + plot_w + 40, ly, s.color, dash)
    end
    add('<text x="%d" y="%d">%s</text>', left + plot_w + 46, ly + 4, output.xml(s.label))
  end
  add("</svg>")
  return table.concat(out, "\n") .. "\n"
end

local function command_line(o)
  local words = {o.script}
  for _, a in ipairs(o.args) do words[#words + 1] = a:find("[%s']") and quote(a) or a end
  return table.concat(words, " ")
end

------------------------------------------------------------------------
-- main
------------------------------------------------------------------------

-- argv: the words after --compare; exe: the path of the tlua binary.
-- Returns true on success, false (after a message) on failure.
function M.main(argv, exe)
  local o, err = parse(argv)
  if not o then return usage_error(err) end
  if o == "help" then print(USAGE); return true end
  exe = exe or "tlua"
  local configs = configurations(o.sweeps)
  local counts = o.threads or {false}
  o.tmp = os.tmpname()
  local function cleanup()
    for _, suffix in ipairs{"", ".cpu", ".err", ".out"} do os.remove(o.tmp .. suffix) end
  end
  local ok, cerr = check(o, exe, configs)
  if not ok then cleanup(); return usage_error(cerr) end

  local context = {cores = threading._cpu_count and threading._cpu_count() or 1, load = load_average()}
  if context.load and context.load > 0.5 * context.cores then
    warning(string.format("load average %.2f on %d cores before the first run: other jobs are running, " ..
                          "timings will be noisy", context.load, context.cores))
  end
  local runs, failed = run_all(exe, o, configs, counts)
  cleanup()
  local rows = not failed and summarise(runs, configs, counts) or nil
  local written, werr = write_records(o, runs, rows, context)
  if failed then return failure(failed.error) end
  if not written then return failure(werr) end

  local fixed = #o.fixed > 0 and (" (" .. table.concat(x_words(o, {}), " "):gsub("'", "") .. ")") or ""
  print(string.format("%s%s: %d run%s per row, %d cores", command_line(o), fixed, o.runs, o.runs > 1 and "s" or "",
                      context.cores))
  print_summary(o, rows, configs, counts)
  warn_if_starved(rows)
  if o.svg then
    local data = chart_data(rows, configs, counts, context.cores)
    local title = command_line(o) .. fixed
    local subtitle = string.format("%s: median of %d runs, bars from min to max; %d cores", data.what, o.runs,
                                   context.cores)
    local svg_ok, serr = output.write_file(o.svg, svg_text(data, title, subtitle))
    if not svg_ok then return failure(serr) end
    print("chart written to " .. o.svg)
  end
  return true
end

return M
