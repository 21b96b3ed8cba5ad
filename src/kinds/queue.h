/*
** queue.h -- what future.c needs from queue.c: a way to hand a value to a
** Queue from C (futures notify the waiters of wait()/as_completed() by
** putting themselves into an internal Queue).
**
** Locking: tl_queue_offer takes and releases the queue's mutex itself; call
** it with no mutex held.
*/
#ifndef TLUA_QUEUE_H
#define TLUA_QUEUE_H

#include "kinds.h"

/* Is 'o' a Queue, LifoQueue, PriorityQueue or SimpleQueue? */
bool tl_queue_is(const tl_object *o);
/* Non-blocking put of an already encoded item into queue 'q' (no priority:
** use it with Queue/LifoQueue/SimpleQueue).  Takes over the caller's
** reference to 'item'; returns false (and frees it) if the queue is full,
** shut down or out of memory. */
bool tl_queue_offer(tl_object *q, tl_blob *item);

#endif
