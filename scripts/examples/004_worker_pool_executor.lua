-- 004_worker_pool_executor.lua -- port of "Creating a worker pool -- Using
-- concurrent.futures.ThreadPoolExecutor" in tutorial 004:
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
-- echo_client is not in the tutorial; it is the echo_client(sock, addr) of the
-- Python Cookbook recipe the example comes from.
-- Run: tlua scripts/examples/004_worker_pool_executor.lua
local threading = require "threading"

-- The simulated network (lib/simnet.lua).
local net = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/lib/simnet.lua")
local listener, run_clients, format_addr = net.listener, net.run_clients, net.format_addr

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
