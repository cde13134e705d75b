/* Ending a one-shot run (--test, --once, --config-check) on SIGINT/SIGTERM.
 *
 * The daemon takes its signals with sigwaitinfo() in the main thread, but a
 * one-shot run keeps the main thread busy gathering, so the signals, blocked
 * in every thread, would wait until the run ends on its own. Here a thread
 * takes them instead: the first asks every input of the run to stop
 * (tower_ctx_stopping() turns true, so long gathers end early and exec kills
 * its commands) and wakes the --test-wait sleep; the run then ends with the
 * exit status of a process killed by that signal. A second signal, or a run
 * that has not ended `grace` after the first, exits at once; so does a
 * signal while the configuration is still loading.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "interrupt.h"

static struct {
  pthread_mutex_t lock;
  twi_pipeline *pl;
  int sig;
  int64_t grace;
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void stop_inputs(twi_pipeline *pl) {
  for (size_t i = 0; pl && i < pl->ninputs; i++)
    atomic_store(&pl->inputs[i]->stopping, true);
}

static int exit_status(int sig) {
  return 128 + sig;
}

static void *watch(void *arg) {
  const sigset_t *sigs = arg;
  int sig;
  while ((sig = sigwaitinfo(sigs, NULL)) < 0) /* EINTR: another signal's handler ran */
    ;
  pthread_mutex_lock(&st.lock);
  st.sig = sig;
  tower_log(NULL, TOWER_LOG_WARN, "%s: interrupting the run", sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (!st.pl) /* still loading the configuration: nothing to end gracefully */
    _exit(exit_status(sig));
  stop_inputs(st.pl);
  twi_run_cancel();
  int64_t grace = st.grace;
  pthread_mutex_unlock(&st.lock);

  /* Give the run `grace` to end; a second signal ends it now. */
  struct timespec ts = twi_timespec(grace);
  siginfo_t si;
  int again;
  while ((again = sigtimedwait(sigs, &si, &ts)) < 0 && errno == EINTR)
    ;
  if (again > 0)
    tower_log(NULL, TOWER_LOG_WARN, "second signal: exiting now");
  else
    tower_log(NULL, TOWER_LOG_ERROR, "the run did not end %.1fs after the signal; exiting now",
              (double)grace / 1e9);
  _exit(exit_status(sig));
  return NULL;
}

int twi_interrupt_watch(int64_t grace_ns) {
  static sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  st.grace = grace_ns > 0 ? grace_ns : 5000000000LL;
  pthread_t t;
  int rc = pthread_create(&t, NULL, watch, &sigs);
  if (rc)
    return -rc;
  pthread_detach(t);
  return 0;
}

void twi_interrupt_set_pipeline(twi_pipeline *pl) {
  pthread_mutex_lock(&st.lock);
  st.pl = pl;
  if (pl && pl->set.shutdown_timeout > st.grace)
    st.grace = pl->set.shutdown_timeout;
  if (st.sig)
    stop_inputs(pl);
  pthread_mutex_unlock(&st.lock);
}

int twi_interrupted(void) {
  pthread_mutex_lock(&st.lock);
  int sig = st.sig;
  pthread_mutex_unlock(&st.lock);
  return sig;
}

int twi_interrupt_status(void) {
  int sig = twi_interrupted();
  return sig ? exit_status(sig) : 0;
}
