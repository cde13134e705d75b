/* inputs.exec internals, shared by exec.c (options, gather, results),
 * exec_run.c (processes and the poll loop), exec_words.c (the word
 * splitter), exec_cgroup.c and exec_clone.c (a cgroup per command) and
 * exec_hunt.c (processes that left the group, found by their pipes) and
 * exec_check.c (--config-check: the programs can be started).
 * Private to the plugin: nothing here is exported. */
#ifndef TOWER_EXEC_H
#define TOWER_EXEC_H

#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <tower/tower.h>

/* Longest stderr line kept or relayed; longer lines are cut (with "...").
 * Telegraf keeps 512 bytes of stderr for its error message. */
#define EXEC_LINE_MAX 512

/* How many pids of escaped processes a message names. */
#define EXEC_PIDS_SHOWN 4

/* Where a command is in this gather's run. */
typedef enum exec_phase {
  EXEC_IDLE = 0,  /* not started (spawn failed) or finished */
  EXEC_RUNNING,   /* pipes and/or process still open */
  EXEC_TERM_SENT, /* SIGTERM went to the group; SIGKILL follows at kill_at */
  EXEC_KILLED,    /* SIGKILL went to the group (and cgroup); briefly waiting for
                     the leader and for the pipes to close */
  EXEC_HUNTED,    /* the pipes stayed open: their holders outside the group
                     were found in /proc and killed; briefly waiting again */
} exec_phase;

/* Why tower signalled the process group (EXEC_WHY_NONE: it did not). */
typedef enum exec_why {
  EXEC_WHY_NONE = 0,
  EXEC_WHY_TIMEOUT, /* the command ran past its timeout */
  EXEC_WHY_LINGER,  /* it exited, but what it started held its pipes open */
  EXEC_WHY_OUTPUT,  /* stdout went over max_output */
  EXEC_WHY_STOP,    /* the agent is shutting down or reloading */
} exec_why;

/* Processes of a killed command that were outside its process group (they
 * called setsid(), double-forked into a new session, or used job control),
 * so that kill(-pgid) did not reach them. */
typedef struct exec_escapes {
  unsigned killed;             /* found and killed (cgroup.kill or by pid) */
  unsigned alive;              /* found, and still running after SIGKILL */
  bool by_cgroup;              /* found in the command's cgroup */
  bool unseen_holder;          /* its pipes stay open, held by no process in /proc */
  pid_t pids[EXEC_PIDS_SHOWN]; /* the first ones found, for the message */
  bool pid_alive[EXEC_PIDS_SHOWN];
  unsigned npids;
} exec_escapes;

typedef struct exec_cmd {
  /* from the configuration */
  char **argv;   /* NULL-terminated; one allocation, strings may be borrowed */
  char *display; /* the command as written, for messages (owned) */
  tower_parser *parser;

  /* this gather's run */
  exec_phase phase;
  exec_why why;
  pid_t pid;
  int pidfd, out_fd, err_fd;  /* -1 when closed */
  int spawn_err;              /* errno of a failed spawn, else 0 */
  int64_t deadline, kill_at;  /* CLOCK_MONOTONIC ns */
  bool exited;                /* the leader's exit was seen (not reaped yet) */
  bool status_lost;           /* reaped by someone else: no status, no signals */
  int wait_code, wait_status; /* from waitid(): CLD_EXITED + status, or signal */
  bool out_done_at_stop;      /* stdout had reached EOF when the agent stopped */
  bool exited_at_stop;        /* ... and the leader had exited */

  /* containment: the command's own cgroup (exec_cgroup.c), -1 without */
  int cg_dir, cg_procs, cg_events;
  unsigned cg_gen; /* makes the name of a fresh cgroup after a stuck one */
  bool cg_counted; /* this run's escapees were counted at a cgroup.kill */
  exec_escapes esc;

  /* stdout (exec_out.c): up to EXEC_OUT_KEEP bytes of it kept across gathers */
  char *out;
  size_t out_len, out_cap;
  bool over_cap;

  /* stderr */
  char err_line[EXEC_LINE_MAX]; /* the line being assembled */
  size_t err_len;
  bool err_cut;                 /* the current line was longer than the buffer */
  char last_err[EXEC_LINE_MAX]; /* the last non-empty line, for error messages */
  unsigned err_relayed, err_suppressed;
} exec_cmd;

typedef struct exec_state {
  tower_ctx *ctx;
  exec_cmd *cmds;
  size_t ncmds;
  char **envp; /* NULL: tower's own environment */
  int64_t timeout, grace;
  size_t max_output;
  unsigned stderr_lines;
  bool ignore_error, shell;
  const char *data_format;

  /* process handling (exec_run.c) */
  int devnull;
  posix_spawnattr_t attr;
  bool attr_ready;
  bool no_pidfd;       /* pidfd_open() is not available */
  struct pollfd *pfds; /* room for 3 per command */
  exec_cmd **pfd_cmd;  /* the command each pollfd belongs to */
  pid_t *pending;      /* killed but not dead yet: reaped later */
  size_t npending, pending_cap;

  /* cgroups (exec_cgroup.c) */
  bool use_cgroup;  /* the `cgroup` option */
  int cg_base;      /* this instance's cgroup directory, -1: none */
  int cg_own_procs; /* cgroup.procs of tower's own cgroup */
  char *cg_path;    /* cg_base's path, for messages */
  bool no_clone3;   /* clone3 into a cgroup failed once: no cgroups any more */
  char **cg_stuck;  /* cgroups not emptied by cgroup.kill: removed later */
  size_t ncg_stuck;
} exec_state;

/* ---- exec_words.c ---- */

/* Splits `text` into words as a POSIX shell does, without running one:
 * blanks separate words; single quotes, double quotes and backslashes quote.
 * Unquoted shell syntax that would need a shell (| & ; < > ( ) $ ` * ? [,
 * a leading # or ~) and $ or ` inside double quotes are errors, so that a
 * command is never silently run differently from what a shell would do.
 * On success *argv is one malloc'd block (pointers then strings), NULL-
 * terminated, freed with free(). On -EINVAL `err` says why and where. */
int exec_split(const char *text, char ***argv, char *err, size_t errlen);

/* The argv as a shell command line, arguments quoted where needed, cut at
 * `max` bytes with "...". malloc'd; NULL on allocation failure. */
char *exec_join(const char *const *argv, size_t max);

/* ---- exec_cgroup.c ---- */

/* Finds tower's cgroup v2 directory and makes this instance's directory in
 * it; without one (no cgroup v2, not writable, option off) commands run in
 * process groups only. Logs which at debug level. Never fails the init. */
void exec_cgroup_init(exec_state *s);
/* Removes the instance's cgroups (logs those it cannot). */
void exec_cgroup_fini(exec_state *s);
/* Removes the cgroups set aside at earlier runs that have emptied since. */
void exec_cgroup_tidy(exec_state *s);
/* Makes sure the command has an empty cgroup for its next run; false when
 * it runs without one. */
bool exec_cgroup_prepare(exec_state *s, exec_cmd *c);
/* SIGKILLs everything in the command's cgroup (cgroup.kill), counting the
 * members that had left the process group the first time. */
void exec_cgroup_kill(exec_state *s, exec_cmd *c);
/* After a run: a killed run's cgroup is killed and waited for until empty;
 * the processes a successful run left running (background daemons with
 * their output redirected) move to tower's own cgroup. A cgroup that
 * cannot be emptied is set aside and the command gets a new one. */
void exec_cgroup_end(exec_state *s, exec_cmd *c, bool killed);

/* ---- exec_clone.c ---- */

/* Whether clone3 can be called here (not under valgrind, say). */
bool exec_clone_usable(void);
/* Starts the command in its cgroup (c->cg_dir) with clone3, stdin from
 * /dev/null, stdout and stderr to `out` and `err`; sets c->pid. 0, an
 * errno value of the start (the exec's, ENOENT say), or ENOSYS when clone3
 * cannot be used here: then the caller uses posix_spawn. */
int exec_clone_spawn(exec_state *s, exec_cmd *c, int out, int err);

/* ---- exec_hunt.c ---- */

/* Notes one process of a killed command found outside its process group. */
void exec_note_escape(exec_escapes *e, pid_t pid, bool alive);

/* The stdout/stderr pipes of a killed command stayed open after SIGKILL to
 * its group and cgroup: finds the processes outside the group that hold
 * them (/proc/PID/fd), SIGKILLs them and notes them in c->esc. */
void exec_hunt_holders(exec_state *s, exec_cmd *c);
/* The pipes are still open a while after exec_hunt_holders: notes which
 * holders are still alive, or that none can be seen. */
void exec_hunt_survivors(exec_cmd *c);

/* ---- exec_check.c ---- */

/* For --config-check: checks that every command's program (and a
 * script's #! interpreter) can be started as the gather will start it,
 * reporting each one that cannot with the path component at fault. 0 or
 * -EINVAL (logged at the command's file:line). Starts nothing. */
int exec_check_commands(exec_state *s, const tower_config *cfg);

/* ---- exec_out.c ---- */

/* Most of a stdout buffer kept between gathers: what an ordinary command
 * prints fits, and a huge output is given back once parsed. */
#define EXEC_OUT_KEEP (64 * 1024)

/* Makes at least `want` bytes of room after out_len, never growing the
 * buffer past `limit` (rounded up to a page). 0 (perhaps with less room, at
 * the limit) or -ENOMEM. */
int exec_out_room(exec_cmd *c, size_t limit, size_t want);
/* After the output was parsed: empties the buffer and gives back all of it
 * beyond EXEC_OUT_KEEP bytes. */
void exec_out_trim(exec_cmd *c);
/* Releases the buffer (destroy). */
void exec_out_free(exec_cmd *c);

/* ---- exec_run.c ---- */

/* A close-on-exec pipe with both ends above 2. 0 or a negative errno. */
int exec_pipe(int p[2]);
/* Prepares the spawn attributes and /dev/null. 0 or a negative errno (logged). */
int exec_run_init(exec_state *s);
/* Reaps what is left (bounded wait) and frees the process-handling state. */
void exec_run_fini(exec_state *s);
/* Starts every command, runs them in parallel until each one has ended or
 * been killed, and reaps them. Results are left in the exec_cmd fields. */
void exec_run_all(exec_state *s);

#endif
