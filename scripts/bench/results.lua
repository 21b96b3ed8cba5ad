-- scripts/bench/results.lua: the benchmark's results as values: how a figure
-- is shown, reading an earlier run's results.csv, and comparing two runs
-- figure by figure (scripts/bench/run --compare-to FILE).  Loaded by the
-- driver; also a command of its own:
--
--   tlua scripts/bench/results.lua BEFORE.csv NOW.csv
--
-- prints the changes between two saved runs.
local M = {}

-- A figure as the tables show it: 1.57M /s, 21.7 KiB, 0.98x...
function M.format(v, unit)
  if v == nil then return "" end
  if type(v) == "string" then return v end
  if unit == "B" then
    if v >= 1 << 20 then return string.format("%.0f MiB", v / (1 << 20)) end
    return string.format("%.1f KiB", v / 1024)
  end
  if unit == "x" then return string.format("%.2fx", v) end
  local s
  if math.abs(v) >= 1e6 then s = string.format("%.3gM", v / 1e6)
  elseif math.abs(v) >= 1e4 then s = string.format("%.0fk", v / 1e3)
  elseif math.abs(v) >= 100 then s = string.format("%.0f", v)
  elseif math.abs(v) >= 10 then s = string.format("%.1f", v)
  else s = string.format("%.3g", v) end
  return unit and unit ~= "" and (s .. " " .. unit) or s
end

-- The fields of one CSV line (RFC 4180 quoting, as the driver writes it).
local function csv_fields(line)
  local fields, i = {}, 1
  while i <= #line + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then error("bad CSV line: " .. line) end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1], j = '"', q + 2
        else
          i = q + 2 -- past the closing quote and the comma
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
    else
      local c = line:find(",", i, true) or #line + 1
      fields[#fields + 1] = line:sub(i, c - 1)
      i = c + 1
    end
  end
  return fields
end

-- The rows of a results.csv: {group=, figure=, value=, unit=, peer=,
-- peer_value=, ...}, numbers as numbers (a figure that was n/a stays a
-- string).
function M.read_csv(path)
  local f, err = io.open(path)
  if not f then return nil, err end
  local names, rows = nil, {}
  for line in f:lines() do
    local fields = csv_fields(line)
    if not names then
      names = fields
    elseif #fields > 1 then
      local row = {}
      for k, name in ipairs(names) do
        local v = fields[k]
        row[name] = v ~= "" and (tonumber(v) or v) or nil
      end
      rows[#rows + 1] = row
    end
  end
  f:close()
  return rows
end

-- Which way a figure improves: "higher" (rates, speed-ups), "lower"
-- (times, instructions, bytes, slow-downs), or nil (also for the C
-- floors: they measure the machine, not tlua).
function M.better(row)
  local figure, unit = row.figure or "", row.unit
  if figure:find("floor") then return nil end
  if unit == "/s" or figure:find("speedup") then return "higher" end
  if unit == "s" or unit == "ms" or unit == "us" or unit == "Ir" or unit == "B" then return "lower" end
  if figure:find("threaded/sequential") then return "lower" end
  return nil
end

-- How much a figure moves between two runs of the same build without
-- being a change (docs/benchmarks.md, "Comparing runs", has the
-- measurements behind these: three full runs of one build, compared in
-- pairs): instruction counts moved by at most 1.5% (what differs from
-- run to run, such as Lua's string-hash seed and the addresses, makes a
-- read of s.n count 611 or 620), memory by 0.1%, timings by 5% at the
-- median, 24% at the 90th percentile, 39% at the 95th and 28x at worst
-- (a p99 latency), and their ratios to the peer timed beside them by as
-- much (CPython's thread start moved 4x).  A timing is flagged only when
-- both its value and its ratio to the peer (if it has one) moved beyond
-- 'timed' the same way.
M.NOISE = {Ir = 0.03, B = 0.05, timed = 0.40}

-- Compares the rows of this run with an earlier run's: one entry per
-- figure (group and figure name; the first peer of each), with the
-- change of the value and, where both runs had the same peer, of the
-- ratio to it, and a flag when the change beyond the noise goes the bad
-- way ("WORSE") or the good way ("better").  Also returns how many figures
-- only one of the runs has.
function M.compare(before_rows, now_rows)
  local before = {}
  for _, r in ipairs(before_rows) do
    local key = r.group .. "\0" .. r.figure
    if before[key] == nil then before[key] = r end
  end
  local changes, seen, only_now = {}, {}, 0
  for _, r in ipairs(now_rows) do
    local key = r.group .. "\0" .. r.figure
    if not seen[key] then
      seen[key] = true
      local b = before[key]
      if b == nil then
        only_now = only_now + 1
      elseif type(b.value) == "number" and type(r.value) == "number" and b.value ~= 0 then
        local c = {group = r.group, figure = r.figure, unit = r.unit, before = b.value, now = r.value,
                   change = r.value / b.value - 1}
        if r.peer and r.peer == b.peer and type(r.peer_value) == "number" and type(b.peer_value) == "number"
           and r.peer_value ~= 0 and b.peer_value ~= 0 then
          c.peer = r.peer
          c.ratio_change = (r.value / r.peer_value) / (b.value / b.peer_value) - 1
        end
        -- Instruction counts and memory are judged on their own; timings
        -- on their value and on their ratio to the peer.
        local noise = M.NOISE[r.unit] or M.NOISE.timed
        local way = M.better(r)
        local function direction(x) -- +1 better, -1 worse, 0 within the noise
          if x == nil or way == nil or math.abs(x) <= noise then return 0 end
          return ((x > 0) == (way == "higher")) and 1 or -1
        end
        local d = direction(c.change)
        if noise == M.NOISE.timed and c.ratio_change and direction(c.ratio_change) ~= d then d = 0 end
        c.flag = d > 0 and "better" or d < 0 and "WORSE" or nil
        changes[#changes + 1] = c
      end
    end
  end
  local only_before = 0
  for key in pairs(before) do if not seen[key] then only_before = only_before + 1 end end
  return changes, only_now, only_before
end

local function percent(x) return x and string.format("%+.1f%%", 100 * x) or "" end

-- The comparison as text lines (for the terminal) and as a markdown table.
function M.report(changes, only_now, only_before, against)
  local COLS = "%-50s %13s %13s %8s %11s  %s"
  local text = {string.format("== Changes against %s (flagged beyond the noise: instructions %g%%, memory %g%%, " ..
                              "timings %g%% in value and in ratio to the peer)", against,
                              100 * M.NOISE.Ir, 100 * M.NOISE.B, 100 * M.NOISE.timed),
                string.format(COLS, "figure", "before", "now", "change", "vs peer", "flag")}
  local md = {"| group | figure | before | now | change | vs peer | flag |", "|---|---|---:|---:|---:|---:|---|"}
  local worse, better = 0, 0
  for _, c in ipairs(changes) do
    local b, n = M.format(c.before, c.unit), M.format(c.now, c.unit)
    text[#text + 1] = string.format(COLS, c.figure, b, n, percent(c.change), percent(c.ratio_change), c.flag or "")
    md[#md + 1] = string.format("| %s | %s | %s | %s | %s | %s | %s |", c.group, c.figure, b, n,
                                percent(c.change), percent(c.ratio_change), c.flag or "")
    if c.flag == "WORSE" then worse = worse + 1 elseif c.flag == "better" then better = better + 1 end
  end
  local summary = string.format("%d figures compared: %d worse, %d better beyond the noise; %d only in this run, %d only in %s",
                                #changes, worse, better, only_now, only_before, against)
  text[#text + 1] = summary
  md[#md + 1] = ""
  md[#md + 1] = summary
  return text, md, worse
end

-- As a command: results.lua BEFORE.csv NOW.csv
if arg and arg[0] and arg[0]:match("results%.lua$") then
  local before_path, now_path = arg[1], arg[2]
  if not (before_path and now_path) then
    io.stderr:write("usage: results.lua BEFORE.csv NOW.csv\n")
    os.exit(2)
  end
  local before = assert(M.read_csv(before_path))
  local now = assert(M.read_csv(now_path))
  local changes, only_now, only_before = M.compare(before, now)
  local text, _, worse = M.report(changes, only_now, only_before, before_path)
  for _, line in ipairs(text) do print(line) end
  os.exit(worse == 0 and 0 or 1)
end

return M
