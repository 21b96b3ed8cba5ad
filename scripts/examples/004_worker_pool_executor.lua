-- 004_worker_pool_executor.lua -- port of "Creating a worker pool -- Using
-- concurrent.futures.ThreadPoolExecutor" in seeds/004_37d4b00f2cbf68df.txt:
-- an echo server whose accept loop submits each connection to a
-- ThreadPoolExecutor(128).
-- The Lua standard library has no sockets, so the network is simulated in
-- process: a connection is a pair of Queues of strings (recv returns "" once
-- the peer has closed), the listening socket a Queue of incoming
-- connections, and three simulated clients connect, send two lines each and
-- read the echoes, then shut down their side and wait for the server to
-- close. The original serves forever; here the simulated network
-- goes down once the clients are done (the backlog queue is shut down), so
-- accept() returns nil, and the server shuts the pool down and returns.
-- echo_client is not in the seed; it is the echo_client(sock, addr) of the
-- Python Cookbook recipe the example comes from.
-- Run: tlua scripts/examples/004_worker_pool_executor.lua
local threading = require "threading"

---------------------------------------------------------------------------
-- The simulated network.

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

---------------------------------------------------------------------------
-- The example.

local function echo_client(sock, client_addr)
  print("Got connection from " .. format_addr(client_addr))
  while true do
    local msg = sock:recv(65536)
    if msg == "" then break end
    sock:sendall(msg)
  end
  print("Client closed connection")
  sock:close()
end

local function echo_server(addr)
  print("Echo server running at " .. format_addr(addr))
  local pool = threading.ThreadPoolExecutor(128)
  local sock = listener -- socket(AF_INET, SOCK_STREAM); bind; listen
  while true do
    local client_sock, client_addr = sock.accept()
    if client_sock == nil then break end -- simulated network is down
    pool:submit(echo_client, client_sock, client_addr)
  end
  print("Echo server: the network is down")
  pool:shutdown()
end

threading.Thread(run_clients, listener.backlog, 3):start()
echo_server({"", 15000})
