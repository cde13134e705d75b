/* inputs.exec internals, shared by exec.c (options, gather, results),
 * exec_run.c (processes and the poll loop) and exec_words.c (the word
 * splitter). Private to the plugin: nothing here is exported. */
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

/* Where a command is in this gather's run. */
typedef enum exec_phase {
  EXEC_IDLE = 0,  /* not started (spawn failed) or finished */
  EXEC_RUNNING,   /* pipes and/or process still open */
  EXEC_TERM_SENT, /* SIGTERM went to the group; SIGKILL follows at kill_at */
  EXEC_KILLED,    /* SIGKILL went to the group; briefly waiting for the leader */
} exec_phase;

/* Why tower signalled the process group (EXEC_WHY_NONE: it did not). */
typedef enum exec_why {
  EXEC_WHY_NONE = 0,
  EXEC_WHY_TIMEOUT, /* the command ran past its timeout */
  EXEC_WHY_LINGER,  /* it exited, but what it started held its pipes open */
  EXEC_WHY_OUTPUT,  /* stdout went over max_output */
  EXEC_WHY_STOP,    /* the agent is shutting down or reloading */
} exec_why;

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

  /* stdout, its buffer kept across gathers */
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

/* ---- exec_run.c ---- */

/* Prepares the spawn attributes and /dev/null. 0 or a negative errno (logged). */
int exec_run_init(exec_state *s);
/* Reaps what is left (bounded wait) and frees the process-handling state. */
void exec_run_fini(exec_state *s);
/* Starts every command, runs them in parallel until each one has ended or
 * been killed, and reaps them. Results are left in the exec_cmd fields. */
void exec_run_all(exec_state *s);

#endif
