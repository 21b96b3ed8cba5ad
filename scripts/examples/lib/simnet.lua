-- scripts/examples/lib/simnet.lua -- the in-process network of the two
-- worker-pool examples (004_worker_pool_queue.lua and
-- 004_worker_pool_executor.lua).  The Lua standard library has no sockets,
-- so a connection is a pair of Queues of strings (recv returns "" once the
-- peer has closed), the listening socket a Queue of incoming connections,
-- and simulated clients connect, send two lines each and read the echoes.
--
--   local net = dofile(dir .. "/lib/simnet.lua")
--   net.listener.accept() -> server-side socket, client address (nil: down)
--   net.run_clients(net.listener.backlog, n)  -- in a thread of its own
--   net.format_addr(addr)
local threading = require "threading"

local Socket = {}
Socket.__index = Socket

local function socketpair()
  local a_to_b, b_to_a = threading.Queue(), threading.Queue()
  return setmetatable({inbox = b_to_a, outbox = a_to_b}, Socket),
         setmetatable({inbox = a_to_b, outbox = b_to_a}, Socket)
end

function Socket:recv(bufsize) -- luacheck: ignore bufsize
  if self.eof then return "" end
  local data = self.inbox:get()
  if data == "" then self.eof = true end
  return data
end

function Socket:sendall(data) self.outbox:put(data) end

-- shutdown(): this end sends no more (SHUT_WR); the peer's recv gets "".
function Socket:shutdown()
  if not self.shut then self.outbox:put(""); self.shut = true end
end

Socket.close = Socket.shutdown

local function format_addr(addr) return ("('%s', %d)"):format(addr[1], addr[2]) end

-- The listening socket: accept() returns the server's end of the next
-- connection and the client's address, or nil once the network is down.
local listener = {backlog = threading.Queue()}

function listener.accept()
  local conn = listener.backlog:get()
  if conn == nil then return nil end
  return conn[1], conn[2]
end

local function connect(backlog, client_addr)
  local client_end, server_end = socketpair()
  backlog:put({server_end, client_addr})
  return client_end
end

local function client(backlog, n)
  local sock = connect(backlog, {"127.0.0.1", 50000 + n})
  for _, line in ipairs{"hello from client " .. n, "bye from client " .. n} do
    sock:sendall(line)
    print(("client %d: sent '%s', got back '%s'"):format(n, line, sock:recv(65536)))
  end
  sock:shutdown()
  assert(sock:recv(65536) == "") -- wait until the server has closed its end
  sock:close()
end

local function run_clients(backlog, nclients)
  local clients = {}
  for n = 1, nclients do
    clients[n] = threading.Thread(client, backlog, n)
    clients[n]:start()
  end
  for _, c in ipairs(clients) do c:join() end
  backlog:shutdown() -- the network goes down: accept() returns nil
end

return {listener = listener, run_clients = run_clients, format_addr = format_addr}
