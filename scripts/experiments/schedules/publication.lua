-- Publication without a lock: the writer publishes a configuration table,
-- then fills it in.  A reader that sees the table published may read a
-- field that is not there yet.  (With a Lock around both, or filling it
-- in before publishing it, every run reads port 8080.)
-- Explore it:  tlua --explore 200 scripts/experiments/schedules/publication.lua
local threading = require "threading"

local registry = threading.shared{}
local writer = threading.Thread(function(reg)
  local config = threading.shared{}
  reg.config = config -- published first: the bug
  config.host = "localhost"
  config.port = 8080
end, registry):start()
local reader = threading.Thread(function(reg)
  local config = reg.config
  if config == nil then return "not published yet" end
  return "port " .. tostring(config.port)
end, registry):start()
writer:join()
reader:join()
local seen = reader:result()
print("reader saw: " .. seen)
if seen == "port nil" then os.exit(1) end
