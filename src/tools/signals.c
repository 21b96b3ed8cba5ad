/*
** signals.c -- the signals the tools answer, in the tlua command:
**
**   SIGQUIT          (Ctrl-\) every thread's stack and what it waits for,
**                    on stderr (dump.c); the process goes on
**   SIGTERM          the outputs asked for (--trace, --stats...: outputs.c),
**                    then the process dies of SIGTERM (status 143)
**   a fatal SIGINT   the same, then it dies of SIGINT (130): the second
**                    Ctrl-C, or one while no Lua code runs (the first one
**                    interrupts the main thread, kernel/interrupt.c)
**
** Without outputs to write, SIGTERM and SIGINT keep their actions.  A handler
** does only what is async-signal-safe: it writes one byte naming the
** signal to a pipe.  A thread of the tools' own (all signals blocked)
** reads the pipe and does the work, outside any handler.
**
** Locking: none of its own; the pipe's write end is non-blocking, so a
** handler never waits.
*/
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "tools.h"

static int pipe_fds[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  char byte = sig == SIGTERM ? 'T' : sig == SIGQUIT ? 'Q' : '?';
  ssize_t n = write(pipe_fds[1], &byte, 1);
  (void)n;
  errno = saved;
}

/* Dies of sig, as if its default action had run at once. */
static void die_of(int sig) {
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig); /* (not reached) */
}

static void *signal_thread(void *arg) {
  (void)arg;
  for (;;) {
    char byte;
    ssize_t n = read(pipe_fds[0], &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    if (byte == 'Q') tl_dump_threads();
    if (byte == 'T' || byte == 'I') {
      tl_outputs_write();
      die_of(byte == 'T' ? SIGTERM : SIGINT);
    }
  }
}

bool tl_signals_thread(void *(*body)(void *)) {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 1024 * 1024); /* it may run the trace's exporters */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old); /* no signal is for it */
  bool started = pthread_create(&t, &attr, body, NULL) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return started;
}

void tl_signals_start(void) {
  if (pipe_fds[0] >= 0) return;
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return;
  fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
  if (!tl_signals_thread(signal_thread)) return;
  struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGQUIT, &sa, NULL);
  if (!tl_outputs_wanted()) return;
  sigaction(SIGTERM, &sa, NULL);
  tl_interrupt_set_fatal_fd(pipe_fds[1]);
}
