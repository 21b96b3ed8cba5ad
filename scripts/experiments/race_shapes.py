"""The four race shapes of race_shapes.lua, in CPython.

N threads each add 1 to a global counter `increments` times, in one of
four shapes; the lost updates show where CPython can switch threads
between the read and the write:

  1  n += 1                      one statement
  2  v = n; n = v + 1            two statements
  3  n = add1(n)                 a Python function called between read and write
  4  n = abs(n) + 1              a C function called inside the expression

    python3 race_shapes.py [increments] [--raw]

increments per thread: default 1000000.  --raw prints one line per run,
"row SHAPE THREADS EXPECTED GOT SECONDS", for race_shapes.lua.  Runs under
Python 2.7 and 3.x (2.7 still has the old GIL: a check every 100 "ticks").
"""
from __future__ import print_function

import sys
import threading
import time

try:
    range = xrange  # Python 2: no list of a million numbers
except NameError:
    pass

n = 0


def add1(x):
    return x + 1


def shape1(times):
    global n
    for _ in range(times):
        n += 1


def shape2(times):
    global n
    for _ in range(times):
        v = n
        n = v + 1


def shape3(times):
    global n
    for _ in range(times):
        n = add1(n)


def shape4(times):
    global n
    for _ in range(times):
        n = abs(n) + 1


SHAPES = [
    (1, "n += 1", shape1),
    (2, "v = n; n = v + 1", shape2),
    (3, "n = add1(n)", shape3),
    (4, "n = abs(n) + 1", shape4),
]


def run(fn, threads, times):
    """Runs fn(times) in `threads` threads released together; returns (n, seconds)."""
    global n
    n = 0
    go = threading.Event()

    def worker():
        go.wait()
        fn(times)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    t0 = time.time()
    go.set()
    for t in ts:
        t.join()
    return n, time.time() - t0


def main():
    args = [a for a in sys.argv[1:] if a != "--raw"]
    raw = "--raw" in sys.argv[1:]
    times = int(float(args[0])) if args else 1000000
    version = sys.version.split()[0]
    if hasattr(sys, "getswitchinterval"):
        how = "switch interval %.1f ms" % (sys.getswitchinterval() * 1000)
    else:
        how = "check interval %d ticks" % sys.getcheckinterval()
    if raw:
        print("python %s %s" % (version, how.replace(" ", "_")))
    else:
        print("Race shapes, CPython %s (%s), %d increments per thread" % (version, how, times))
        print("%-2s %-20s %7s %10s %10s %8s" % ("", "shape", "threads", "expected", "lost", "lost %"))
    for num, text, fn in SHAPES:
        for threads in (2, 4):
            got, secs = run(fn, threads, times)
            expected = threads * times
            if raw:
                print("row %d %d %d %d %.3f" % (num, threads, expected, got, secs))
            else:
                print("%-2d %-20s %7d %10d %10d %7.2f%%" % (num, text, threads, expected, expected - got,
                                                          100.0 * (expected - got) / expected))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
