"""queue_items.py COUNT REPS [MAXSIZE [KIND [ITEM]]]: the CPython peer of queue_items.lua
(items per second through a queue.KIND, default Queue, from a producer thread to the main
thread; ITEM int or str)."""
import sys
import os
import queue
import threading

from benchlib import int_arg, median, now, report

count, reps, maxsize = int_arg(1, 200000), int_arg(2, 3), int_arg(3, 0)
kind = sys.argv[4] if len(sys.argv) > 4 else "Queue"
item = sys.argv[5] if len(sys.argv) > 5 else "int"


def produce(q, n):
    if item == "str":
        for i in range(1, n + 1):
            q.put("item")
    else:
        for i in range(1, n + 1):
            q.put(i)


rates = []
for _ in range(reps):
    q = queue.SimpleQueue() if kind == "SimpleQueue" else getattr(queue, kind)(maxsize)
    t0 = now()
    producer = threading.Thread(target=produce, args=(q, count))
    producer.start()
    total = 0
    if item == "str":
        for _ in range(count):
            total += len(q.get())
    else:
        for _ in range(count):
            total += q.get()
    producer.join()
    rates.append(count / (now() - t0))
    assert total == (4 * count if item == "str" else count * (count + 1) // 2)
report("per_second", median(rates))
report("cores", os.cpu_count())
