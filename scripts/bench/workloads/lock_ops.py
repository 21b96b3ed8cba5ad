"""lock_ops.py MODE COUNT REPS: the CPython peer of lock_ops.lua.
MODE acquire: lock.acquire(); lock.release() pairs per second;
MODE with: `with lock: pass` per second; MODE contended: 2 threads
increment a global counter under the lock."""
import os
import sys
import threading

from benchlib import int_arg, median, now, report

mode, count, reps = sys.argv[1], int_arg(2, 1000000), int_arg(3, 3)
counter = 0


def run_acquire():
    lock = threading.Lock()
    t0 = now()
    for _ in range(count):
        lock.acquire()
        lock.release()
    return now() - t0


def run_with():
    lock = threading.Lock()
    t0 = now()
    for _ in range(count):
        with lock:
            pass
    return now() - t0


def adder(lock, times):
    global counter
    for _ in range(times):
        with lock:
            counter += 1


def run_contended():
    global counter
    counter = 0
    lock = threading.Lock()
    half = count // 2
    t0 = now()
    ts = [threading.Thread(target=adder, args=(lock, half)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt = now() - t0
    assert counter == 2 * half
    return dt


run = {"acquire": run_acquire, "with": run_with, "contended": run_contended}[mode]
n = count // 2 * 2 if mode == "contended" else count
report("per_second", median([n / run() for _ in range(reps)]))
report("cores", os.cpu_count())
