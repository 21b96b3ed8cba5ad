-- `luarocks --lua-version 5.4 make` (scripts/check-rock tries it in a fresh tree).
-- CMake builds tlua and threading.so; luarocks itself then copies them into the
-- rock (build.install): CMake's own install rule puts threading.so under
-- lib/lua/5.4 of its prefix, which luarocks would deploy one level too deep
-- (lib/lua/5.4/lua/5.4/).  The Lua parts (lua/threading/*.lua) are built into
-- both binaries, so there is nothing else to install.
rockspec_format = "3.0"
package = "tlua"
version = "0.2.0-1"
source = { url = "git+file://." }
description = {
  summary = "Real OS threads for Lua 5.4 with a Python-style threading module and a switchable GIL",
  detailed = [[
    threading.so: one Lua state per OS thread, Thread, Lock, RLock, Condition, Semaphore, Event,
    Barrier, Timer, queues, ThreadPoolExecutor and futures, logging, and a global interpreter lock
    that can be switched on to reproduce CPython's scheduling. Also builds the tlua command.
  ]],
  license = "MIT",
}
dependencies = { "lua >= 5.4, < 5.5" }
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
  },
  install_pass = false,
  install = {
    lib = { threading = "build.luarocks/threading.so" },
    bin = { tlua = "build.luarocks/tlua" },
  },
}
