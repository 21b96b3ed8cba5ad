"""executor_tasks.py COUNT REPS WORKERS: the CPython peer of executor_tasks.lua
per second through concurrent.futures.ThreadPoolExecutor)."""
import os
from concurrent.futures import ThreadPoolExecutor

from benchlib import int_arg, median, now, report

count, reps, workers = int_arg(1, 20000), int_arg(2, 3), int_arg(3, 2)


def task(x):
    return x + 1


rates = []
for _ in range(reps):
    t0 = now()
    ex = ThreadPoolExecutor(workers)
    futures = [ex.submit(task, i) for i in range(1, count + 1)]
    total = sum(f.result() for f in futures)
    ex.shutdown()
    rates.append(count / (now() - t0))
    assert total == count * (count + 1) // 2 + count
report("per_second", median(rates))
report("cores", os.cpu_count())
