"""handoff.py SAMPLES: the CPython peer of handoff.lua (the main thread
sleeps 1 ms SAMPLES times next to a CPU-bound thread; prints the p50/p99
wake-up lateness in ms)."""
import os
import sys
import threading
import time

from benchlib import int_arg, now, percentile, report

samples = int_arg(1, 200)
stop, started = threading.Event(), threading.Event()


def spin():
    started.set()
    s = 0
    while not stop.is_set():
        for i in range(1, 10001):
            s = s + i % 7
    return s


spinner = threading.Thread(target=spin)
spinner.start()
started.wait()
late = []
for _ in range(samples):
    t0 = now()
    time.sleep(0.001)
    late.append((now() - t0 - 0.001) * 1000)
stop.set()
spinner.join()
report("p50_ms", percentile(late, 50))
report("p99_ms", percentile(late, 99))
report("switch_interval_ms", sys.getswitchinterval() * 1000)
report("cores", os.cpu_count())
