/* sd_notify through libsystemd (notify.h). The calls are compiled out
 * without it: the protocol is libsystemd's to keep (abstract sockets,
 * credentials, future fields), not ours to copy. */
#include "config.h"

#include <stdio.h>

#include "notify.h"

#ifdef HAVE_SYSTEMD
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-daemon.h>

/* unset_environment = 0 everywhere: the agent notifies for as long as it
 * runs. Commands it starts (inputs.exec) inherit NOTIFY_SOCKET, which is
 * harmless: the unit's NotifyAccess=main ignores any other process. */
static void send_with_status(const char *state, const char *status) {
  if (status)
    sd_notifyf(0, "%s\nSTATUS=%s", state, status);
  else
    sd_notify(0, state);
}

void twi_notify_ready(const char *status) {
  send_with_status("READY=1", status);
}

void twi_notify_reloading(const char *status) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char state[96];
  snprintf(state, sizeof state, "RELOADING=1\nMONOTONIC_USEC=%llu",
           (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
  send_with_status(state, status);
}

void twi_notify_stopping(const char *status) {
  send_with_status("STOPPING=1", status);
}

void twi_notify_status(const char *status) {
  sd_notifyf(0, "STATUS=%s", status);
}

void twi_notify_watchdog(void) {
  sd_notify(0, "WATCHDOG=1");
}

int64_t twi_notify_watchdog_ns(void) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0)
    return 0;
  return usec > (uint64_t)INT64_MAX / 1000 ? INT64_MAX : (int64_t)usec * 1000;
}

#else /* !HAVE_SYSTEMD */

void twi_notify_ready(const char *status) {
  (void)status;
}
void twi_notify_reloading(const char *status) {
  (void)status;
}
void twi_notify_stopping(const char *status) {
  (void)status;
}
void twi_notify_status(const char *status) {
  (void)status;
}
void twi_notify_watchdog(void) {}
int64_t twi_notify_watchdog_ns(void) {
  return 0;
}

#endif
