-- threading._output: what the tools (threading.compare, threading.trace)
-- share to write their files: JSON and XML text, an estimate of a text's
-- width in an SVG, a check that a path can be written before any work is
-- done, and whole-file writes.  Internal: not part of the threading API.
local M = {}

-- s as valid UTF-8: a string that is not (a thread name is any Lua
-- string) has its bytes >= 0x80 taken as Latin-1.
local function utf8_text(s)
  s = tostring(s)
  if utf8.len(s) then return s end
  return (s:gsub("[\128-\255]", function(c) return utf8.char(c:byte()) end))
end

-- A JSON string literal.
function M.json_string(s)
  return '"' .. utf8_text(s):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

local ARRAY = {}

-- Stands for JSON's null where a Lua table cannot hold nil.
M.null = setmetatable({}, {__tostring = function() return "null" end})

-- Marks t as a JSON array even when it is empty.
function M.array(t) return setmetatable(t or {}, ARRAY) end

-- JSON text of a Lua value: nil and M.null as null, tables with a sequence (or
-- marked by M.array) as arrays, other tables as objects (keys sorted, so
-- the output is stable), non-finite numbers as null.
function M.json(v)
  local kind = type(v)
  if v == nil or v == M.null then return "null"
  elseif kind == "boolean" then return tostring(v)
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    return math.type(v) == "integer" and string.format("%d", v) or string.format("%.9g", v)
  elseif kind == "string" then return M.json_string(v)
  elseif kind ~= "table" then error("cannot write a " .. kind .. " as JSON")
  end
  local parts = {}
  if #v > 0 or getmetatable(v) == ARRAY then
    for i = 1, #v do parts[i] = M.json(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for i, k in ipairs(keys) do parts[i] = M.json_string(k) .. ":" .. M.json(v[k]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- Text for an XML document: UTF-8, special characters escaped, control
-- characters (not allowed in XML) shown as spaces.
local XML_ESCAPES = {["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;", ['"'] = "&quot;"}
function M.xml(s)
  return (utf8_text(s):gsub("[<>&\"]", XML_ESCAPES):gsub("%c", " "))
end

-- A generous estimate of the width in pixels of s in a sans-serif font of
-- the given size, enough to place it so that it is not clipped.
function M.text_width(s, size)
  return (utf8.len(s) or #s) * size * 0.62
end

-- Whether path can be written, checked without changing an existing file
-- (a file made by the check is removed again).  Returns true, or nil and
-- the system's message.
function M.check_writable(path)
  local existing = io.open(path, "r")
  if existing then existing:close() end
  local f, err = io.open(path, "a")
  if not f then return nil, err end
  f:close()
  if not existing then os.remove(path) end
  return true
end

-- The contents of a file, or nil if it cannot be read.
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- s as one word of a POSIX shell command line ('...').
function M.shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Writes text to path; returns true, or nil and a message.
function M.write_file(path, text)
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local closed, cerr = f:close()
  if not ok or not closed then return nil, path .. ": " .. tostring(werr or cerr) end
  return true
end

-- Raises msg as an error that a host prints as it is, without a traceback
-- (lua.c's message handler adds none to an object with __tostring).
function M.raise(msg)
  error(setmetatable({message = msg}, {__tostring = function(e) return e.message end}), 0)
end

return M
