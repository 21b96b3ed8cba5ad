"""startjoin.py COUNT REPS: the CPython peer of startjoin.lua
(threading.Thread start+join of a thread that does nothing)."""
import threading

from benchlib import int_arg, median, now, report

count, reps = int_arg(1, 1000), int_arg(2, 3)


def nothing():
    pass


per = []
for _ in range(reps):
    t0 = now()
    for _ in range(count):
        t = threading.Thread(target=nothing)
        t.start()
        t.join()
    per.append((now() - t0) / count * 1e6)
report("us_per_thread", median(per))
