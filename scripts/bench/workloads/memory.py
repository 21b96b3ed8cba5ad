"""memory.py N [STACK_BYTES]: the CPython peer of memory.lua (N threads
alive at once, all waiting on one Event; VmRSS before and during)."""
import threading

from benchlib import int_arg, now, report, rss

n, stack = int_arg(1, 1000), int_arg(2, 0)
if stack > 0:
    threading.stack_size(stack)
go, ready = threading.Event(), threading.Semaphore(0)


def sleeper():
    ready.release()
    go.wait()


before = rss()
t0 = now()
ts = [threading.Thread(target=sleeper) for _ in range(n)]
for t in ts:
    t.start()
for _ in range(n):
    ready.acquire()
started = now() - t0
during = rss()
go.set()
for t in ts:
    t.join()
report("threads", n)
report("rss_before", before)
report("rss_during", during)
report("bytes_per_thread", (during - before) // n)
report("start_seconds", started)
report("stack_size", threading.stack_size())
