"""pingpong.py COUNT REPS: the CPython peer of pingpong.lua (a turn handed
from one thread to another and back through a pair of Events, a pair of
Semaphores and one Condition; microseconds per hand-off, medians)."""
import threading

from benchlib import int_arg, median, now, report

count, reps = int_arg(1, 5000), int_arg(2, 3)


def event_player(mine, other, n):
    for _ in range(n):
        mine.wait()
        mine.clear()
        other.set()


def semaphore_player(mine, other, n):
    for _ in range(n):
        mine.acquire()
        other.release()


def condition_player(cv, turn, me, n):
    for _ in range(n):
        with cv:
            while turn[0] != me:
                cv.wait()
            turn[0] = 1 - me
            cv.notify()


def two_sides(player, a, b, main_turn):
    """Seconds for 2 * count hand-offs: player(b, a, count) in a new
    thread, main_turn(a, b) count times in this one."""
    t0 = now()
    t = threading.Thread(target=player, args=(b, a, count))
    t.start()
    for _ in range(count):
        main_turn(a, b)
    t.join()
    return now() - t0


def event_turn(a, b):
    b.set()
    a.wait()
    a.clear()


def semaphore_turn(a, b):
    b.release()
    a.acquire()


def event():
    return two_sides(event_player, threading.Event(), threading.Event(), event_turn)


def semaphore():
    return two_sides(semaphore_player, threading.Semaphore(0), threading.Semaphore(0), semaphore_turn)


def condition():
    cv, turn = threading.Condition(), [0]
    t0 = now()
    t = threading.Thread(target=condition_player, args=(cv, turn, 1, count))
    t.start()
    condition_player(cv, turn, 0, count)
    t.join()
    return now() - t0


for name, way in (("event", event), ("semaphore", semaphore), ("condition", condition)):
    report(name + "_us", median([way() / (2 * count) * 1e6 for _ in range(reps)]))
