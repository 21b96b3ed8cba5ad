"""scaling.py N WORK REPS: the CPython peer of scaling.lua (same loop,
sequential N units in the main thread vs N threads of one unit each)."""
import os
import threading

from benchlib import int_arg, median, now, report

n, work, reps = int_arg(1, 2), int_arg(2, 1000000), int_arg(3, 3)


def unit(iterations):
    s = 0
    for i in range(1, iterations + 1):
        s = s + i % 7
    return s


seq, par, speedup = [], [], []
for r in range(reps):
    t0 = now()
    for _ in range(n):
        unit(work)
    seq.append(now() - t0)
    t0 = now()
    ts = [threading.Thread(target=unit, args=(work,)) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    par.append(now() - t0)
    speedup.append(seq[-1] / par[-1])
report("sequential", median(seq))
report("threaded", median(par))
report("speedup", median(speedup))
report("cores", os.cpu_count())
