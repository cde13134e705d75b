/* Telling the service manager what the agent does (sd_notify), for
 * Type=notify units (systemd/tower.service). Without libsystemd (configure
 * --without-systemd) every call does nothing; with it, every call does
 * nothing unless NOTIFY_SOCKET is set, so a tower started by hand is
 * unaffected. Messages follow sd_notify(3). */
#ifndef TOWER_NOTIFY_H
#define TOWER_NOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS= line: every plugin started, or a reload ended. */
void twi_notify_ready(const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (which systemd 253 and later want with
 * it; 252 ignores it) and a STATUS= line. */
void twi_notify_reloading(const char *status);
/* STOPPING=1 with a STATUS= line. */
void twi_notify_stopping(const char *status);
/* A STATUS= line alone (what `systemctl status` shows). */
void twi_notify_status(const char *status);
/* WATCHDOG=1: everything watched is alive. */
void twi_notify_watchdog(void);
/* The watchdog timeout the service manager set for this process
 * (WATCHDOG_USEC, checked against WATCHDOG_PID), in ns; 0 when none. */
int64_t twi_notify_watchdog_ns(void);

#endif
