-- 004_worker_pool_queue.lua -- port of "Creating a worker pool -- Using
-- threading & queue" in tutorial 004: an echo server
-- whose accept loop hands each connection to a pool of 128 daemon worker
-- threads through a Queue.
-- The Lua standard library has no sockets, so the network is simulated in
-- process: a connection is a pair of Queues of strings (recv returns "" once
-- the peer has closed), the listening socket a Queue of incoming
-- connections, and three simulated clients connect, send two lines each and
-- read the echoes, then shut down their side and wait for the server to
-- close. The original serves forever; here the simulated network
-- goes down once the clients are done (the backlog queue is shut down), so
-- accept() returns nil and the server returns. echo_client is not in the
-- tutorial; it is the one-connection-per-worker echo_client of the Python
-- Cookbook recipe the example comes from.
-- Run: tlua scripts/examples/004_worker_pool_queue.lua
local threading = require "threading"

-- The simulated network (lib/simnet.lua).
local net = dofile((arg and arg[0] and arg[0]:match("^(.*)/") or ".") .. "/lib/simnet.lua")
local listener, run_clients, format_addr = net.listener, net.run_clients, net.format_addr

---------------------------------------------------------------------------
-- The example.

local function echo_client(q)
  local conn = q:get()
  local sock, client_addr = conn[1], conn[2]
  print("Got connection from " .. format_addr(client_addr))
  while true do
    local msg = sock:recv(65536)
    if msg == "" then break end
    sock:sendall(msg)
  end
  print("Client closed connection")
  sock:close()
end

local function echo_server(addr, nworkers)
  print("Echo server running at " .. format_addr(addr))
  -- Launch the client workers
  local q = threading.Queue()
  for _ = 1, nworkers do
    local t = threading.Thread{target = echo_client, args = {q}}
    t.daemon = true
    t:start()
  end

  -- Run the server (sock = socket(AF_INET, SOCK_STREAM); bind; listen)
  local sock = listener
  while true do
    local client_sock, client_addr = sock.accept()
    if client_sock == nil then break end -- simulated network is down
    q:put({client_sock, client_addr})
  end
  print("Echo server: the network is down")
end

threading.Thread(run_clients, listener.backlog, 3):start()
echo_server({"", 15000}, 128)
