/* The daemon's pidfile, locked for as long as the agent runs. */
#ifndef TOWER_PIDFILE_H
#define TOWER_PIDFILE_H

/* Creates or opens `path`, takes an exclusive lock on it and writes the
 * process id. Returns the descriptor that holds the lock, or -1 after
 * logging why (another tower holds it: its pid is named). */
int twi_pidfile_take(const char *path);
/* Removes the pidfile this process holds and releases the lock. */
void twi_pidfile_release(const char *path, int fd);

#endif
