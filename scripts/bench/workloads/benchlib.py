"""Helpers shared by the Python peers of the tlua benchmark suite.

Each peer prints "key value" lines, as the Lua workloads do (lib.lua).
"""
import math
import sys
import time

now = time.monotonic


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def percentile(xs, p):
    s = sorted(xs)
    i = math.ceil(p / 100 * len(s))
    return s[max(0, min(len(s), i) - 1)]


def report(key, value):
    if isinstance(value, float):
        value = "%.6g" % value
    print(key, value, flush=True)


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024


def int_arg(i, default):
    return int(float(sys.argv[i])) if len(sys.argv) > i else default
