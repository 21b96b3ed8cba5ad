"""legacy_gil.py [WORK] [SAMPLES]: the CPython peer of legacy_gil.lua.

Runs under Python 2.7 (the old GIL: a check every 100 ticks, after which
the holder releases and at once re-takes the lock) and Python 3 (the new
GIL of 3.2+: a drop request after a 5 ms switch interval).  Prints
"key value" lines that legacy_gil.lua reads:
  sequential S / threaded S    two CPU-bound units one after the other,
                               then in two threads at once (seconds)
  late_p50 / late_p99 / late_max / io_rate
                               1 ms sleeps in the main thread next to a
                               CPU-bound thread: lateness (ms), sleeps/s
"""
from __future__ import print_function
import sys
import threading
import time

now = getattr(time, "monotonic", time.time)

WORK = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10000000
SAMPLES = int(sys.argv[2]) if len(sys.argv) > 2 else 100


def cpu(n):
    s = 0
    for i in range(n):
        s += i % 7
    return s


def spin(stop):
    while not stop.is_set():
        cpu(10000)


def percentile(xs, p):
    s = sorted(xs)
    i = max(1, min(len(s), int(-(-p * len(s) // 100))))
    return s[i - 1]


t0 = now()
cpu(WORK)
cpu(WORK)
print("sequential", now() - t0)
go = threading.Event()


def unit(n):
    go.wait()
    cpu(n)


ts = [threading.Thread(target=unit, args=(WORK,)) for _ in range(2)]
for t in ts:
    t.start()
t0 = now()
go.set()
for t in ts:
    t.join()
print("threaded", now() - t0)

stop = threading.Event()
spinner = threading.Thread(target=spin, args=(stop,))
spinner.start()
time.sleep(0.05)
late = []
t_start = now()
for _ in range(SAMPLES):
    t0 = now()
    time.sleep(0.001)
    late.append((now() - t0 - 0.001) * 1000)
rate = SAMPLES / (now() - t_start)
stop.set()
spinner.join()
print("late_p50", percentile(late, 50))
print("late_p99", percentile(late, 99))
print("late_max", max(late))
print("io_rate", rate)
