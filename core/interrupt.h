/* SIGINT/SIGTERM during a one-shot run (--test, --once, --config-check). */
#ifndef TOWER_INTERRUPT_H
#define TOWER_INTERRUPT_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

/* Starts the thread that takes SIGINT and SIGTERM (blocked in every thread
 * by the caller). After the first, the run has `grace_ns` to end before the
 * process exits with 128 + the signal. 0 or -errno. */
int twi_interrupt_watch(int64_t grace_ns);
/* The pipeline whose inputs a signal stops (NULL: none any more); its
 * shutdown_timeout lengthens the grace when longer. */
void twi_interrupt_set_pipeline(twi_pipeline *pl);
/* The signal that interrupted the run, or 0. */
int twi_interrupted(void);
/* 128 + that signal (the status of a process it killed), or 0. */
int twi_interrupt_status(void);

#endif
