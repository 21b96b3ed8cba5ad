"""queue_items.py COUNT REPS [MAXSIZE]: the CPython peer of queue_items.lua (items per
second through queue.Queue from a producer thread to the main thread)."""
import os
import queue
import threading

from benchlib import int_arg, median, now, report

count, reps, maxsize = int_arg(1, 200000), int_arg(2, 3), int_arg(3, 0)


def produce(q, n):
    for i in range(1, n + 1):
        q.put(i)


rates = []
for _ in range(reps):
    q = queue.Queue(maxsize)
    t0 = now()
    producer = threading.Thread(target=produce, args=(q, count))
    producer.start()
    total = 0
    for _ in range(count):
        total += q.get()
    producer.join()
    rates.append(count / (now() - t0))
    assert total == count * (count + 1) // 2
report("per_second", median(rates))
report("cores", os.cpu_count())
