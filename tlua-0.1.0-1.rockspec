package = "tlua"
version = "0.1.0-1"
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
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    CMAKE_BUILD_TYPE = "Release",
  },
}
