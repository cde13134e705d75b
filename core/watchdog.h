/* The service manager's watchdog (WatchdogSec= in the unit): WATCHDOG=1
 * every WATCHDOG_USEC/2 while the agent loop, every output's flush thread
 * and every input's schedule are alive, so that systemd restarts an agent
 * whose output hangs in write() or whose input stopped gathering. */
#ifndef TOWER_WATCHDOG_H
#define TOWER_WATCHDOG_H

#include <stdint.h>

#include "pipeline.h"

typedef struct twi_watchdog twi_watchdog;

/* Starts the pinging thread when the service manager asked for pings
 * (WATCHDOG_USEC); NULL otherwise, which every call below accepts. */
twi_watchdog *twi_watchdog_start(void);
/* The agent loop runs `pl` from now on and waits for signals. */
void twi_watchdog_running(twi_watchdog *w, twi_pipeline *pl);
/* The agent loop is busy (a reload, a flush request) for at most
 * `limit` ns; no pipeline is watched until twi_watchdog_running. */
void twi_watchdog_busy(twi_watchdog *w, int64_t limit);
/* Stops pinging (the agent stops: systemd no longer expects pings) and
 * frees the watchdog. */
void twi_watchdog_stop(twi_watchdog *w);

#endif
