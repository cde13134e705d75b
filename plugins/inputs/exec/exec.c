/* inputs.exec: runs commands at every gather and parses what they print on
 * stdout in the configured data_format, like Telegraf's inputs.exec.
 *
 * This file reads the configuration and turns each command's run into
 * metrics or errors; exec_run.c starts and watches the processes and
 * exec_words.c splits command strings. Decisions (README.md has them all):
 *   - no shell runs unless `shell = true`: strings are split like a shell
 *     splits words, and shell syntax that cannot work without one is a
 *     configuration error naming file:line and column;
 *   - the output of one run is parsed only once the command has ended
 *     successfully (exit status 0, or any exit with ignore_error), never
 *     while it runs: a failed command adds no half of its metrics;
 *   - a timed-out command, or one whose stdout goes over max_output, adds
 *     nothing, whatever ignore_error says: its output is incomplete.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../../common/plural.h"
#include "exec.h"

#ifndef PLUGIN_VERSION
#define PLUGIN_VERSION "0.1.0"
#endif

/* Longest command shown in messages. */
#define DISPLAY_MAX 200

extern char **environ;

static const tower_option options[] = {
    {.name = "commands",
     .type = TOWER_OPT_ANY,
     .flags = TOWER_OPT_REQUIRED,
     .help = "commands to run: a list of argv arrays and/or strings split like a shell splits "
             "words, e.g. ([\"/app/check.sh\", \"--fast\"], \"/usr/bin/collect --all\")"},
    {.name = "environment",
     .type = TOWER_OPT_STRINGS,
     .help = "KEY=value entries added to (overriding) tower's environment for the commands"},
    {.name = "timeout",
     .type = TOWER_OPT_DURATION,
     .default_value = "5s",
     .min = "1ms",
     .help = "longest run of a command; then its process group gets SIGTERM"},
    {.name = "kill_grace",
     .type = TOWER_OPT_DURATION,
     .default_value = "1s",
     .min = "0s",
     .max = "1m",
     .help = "time between SIGTERM and SIGKILL for a command that overran"},
    {.name = "max_output",
     .type = TOWER_OPT_SIZE,
     .default_value = "4MiB",
     .min = "1",
     .max = "1GiB",
     .help = "largest stdout of one run; more is an error and nothing is parsed"},
    {.name = "stderr_lines",
     .type = TOWER_OPT_INT,
     .default_value = "10",
     .min = "0",
     .max = "100000",
     .help = "stderr lines relayed to the log per run (E!/W!/I!/D!/T! prefixes set the level)"},
    {.name = "ignore_error",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "parse the output of a command that exits with a non-zero status"},
    {.name = "shell",
     .type = TOWER_OPT_BOOL,
     .default_value = "false",
     .help = "run each string command with /bin/sh -c (argv arrays never use a shell)"},
    {.name = "cgroup",
     .type = TOWER_OPT_BOOL,
     .default_value = "true",
     .help = "run each command in a cgroup v2 of its own when tower's cgroup is writable, so "
             "that killing it also kills processes that left its process group"},
    TOWER_OPTION_END,
};

/* ---- configuration ------------------------------------------------------ */

/* An argv array: strings only, the program name not empty. The strings are
 * borrowed from the configuration (valid until destroy). */
static int argv_from_array(const tower_config *cfg, const tower_setting *a, size_t i, char ***out) {
  size_t n = tower_setting_len(a);
  if (n == 0)
    return tower_config_error(cfg, a,
                              "commands[%zu] is an empty argv array; give at least "
                              "the program, e.g. [\"/app/check.sh\"]",
                              i);
  char **argv = calloc(n + 1, sizeof *argv);
  if (!argv)
    return -ENOMEM;
  for (size_t j = 0; j < n; j++) {
    const tower_setting *e = tower_setting_at(a, j);
    argv[j] = (char *)tower_setting_string(e);
    if (!argv[j]) {
      free(argv);
      return tower_config_error(cfg, e, "commands[%zu][%zu] must be a string", i, j);
    }
  }
  if (!argv[0][0]) {
    free(argv);
    return tower_config_error(cfg, a, "commands[%zu]: the program name is empty", i);
  }
  *out = argv;
  return 0;
}

/* A string: split into words, or run by /bin/sh -c with shell = true. */
static int argv_from_string(const exec_state *s, const tower_config *cfg, const tower_setting *e,
                            size_t i, char ***out) {
  const char *text = tower_setting_string(e);
  if (s->shell) {
    char **argv = calloc(4, sizeof *argv);
    if (!argv)
      return -ENOMEM;
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = (char *)text;
    *out = argv;
    return 0;
  }
  char err[512];
  int rc = exec_split(text, out, err, sizeof err);
  if (rc == -EINVAL)
    return tower_config_error(cfg, e, "commands[%zu] \"%s\": %s", i, text, err);
  return rc;
}

/* A Telegraf-style array of strings is a list of commands; an element that
 * starts with '-' was meant as an argument of the one before. */
static int check_array_element(const tower_config *cfg, const tower_setting *e, size_t i) {
  const char *text = tower_setting_string(e);
  if (i == 0 || !text || text[0] != '-')
    return 0;
  return tower_config_error(cfg, e,
                            "commands[%zu] = \"%s\" looks like an argument, but in an array "
                            "[...] every string is a command of its own; write the command as an "
                            "argv array inside a list: commands = ([\"program\", \"%s\"]);",
                            i, text, text);
}

/* The command as written, cut at DISPLAY_MAX bytes with "...". */
static char *display_string(const char *text) {
  char *d = strndup(text, DISPLAY_MAX);
  if (d && strlen(text) > DISPLAY_MAX)
    memcpy(d + DISPLAY_MAX - 3, "...", 3);
  return d;
}

static int load_command(exec_state *s, const tower_config *cfg, const tower_setting *e, size_t i,
                        bool in_array) {
  exec_cmd *c = &s->cmds[i];
  int rc;
  switch (tower_setting_kind(e)) {
  case TOWER_SETTING_STRING:
    rc = in_array ? check_array_element(cfg, e, i) : 0;
    if (rc == 0)
      rc = argv_from_string(s, cfg, e, i, &c->argv);
    if (rc == 0)
      c->display = display_string(tower_setting_string(e));
    break;
  case TOWER_SETTING_ARRAY:
  case TOWER_SETTING_LIST:
    rc = argv_from_array(cfg, e, i, &c->argv);
    if (rc == 0)
      c->display = exec_join((const char *const *)c->argv, DISPLAY_MAX);
    break;
  default:
    return tower_config_error(cfg, e,
                              "commands[%zu] must be a string or an argv array of strings, "
                              "e.g. [\"/app/check.sh\", \"--fast\"]",
                              i);
  }
  return rc == 0 && !c->display ? -ENOMEM : rc;
}

static int load_commands(exec_state *s, const tower_config *cfg) {
  const tower_setting *set = tower_config_setting(cfg, "commands");
  tower_setting_type kind = tower_setting_kind(set);
  if (kind != TOWER_SETTING_STRING && kind != TOWER_SETTING_ARRAY && kind != TOWER_SETTING_LIST)
    return tower_config_error(cfg, set,
                              "commands must be a list of commands, e.g. commands = "
                              "([\"/app/check.sh\", \"--fast\"], \"/usr/bin/collect --all\");");
  s->ncmds = kind == TOWER_SETTING_STRING ? 1 : tower_setting_len(set);
  if (s->ncmds == 0)
    return tower_config_error(cfg, set, "commands is empty; give at least one command");
  s->cmds = calloc(s->ncmds, sizeof *s->cmds);
  if (!s->cmds)
    return -ENOMEM;
  for (size_t i = 0; i < s->ncmds; i++) {
    exec_cmd *c = &s->cmds[i];
    c->pidfd = c->out_fd = c->err_fd = -1;
    c->cg_dir = c->cg_procs = c->cg_events = -1;
    const tower_setting *e = kind == TOWER_SETTING_STRING ? set : tower_setting_at(set, i);
    int rc = load_command(s, cfg, e, i, kind == TOWER_SETTING_ARRAY);
    if (rc)
      return rc;
  }
  return 0;
}

static size_t key_len(const char *entry) {
  return strcspn(entry, "=");
}

static bool same_key(const char *a, const char *b) {
  size_t n = key_len(a);
  return n == key_len(b) && strncmp(a, b, n) == 0;
}

/* True when `entry` is replaced by one of cfg's entries from `from` on. */
static bool overridden(const tower_config *cfg, const char *entry, size_t from) {
  size_t n = tower_config_strings_len(cfg, "environment");
  for (size_t i = from; i < n; i++)
    if (same_key(entry, tower_config_strings_at(cfg, "environment", i)))
      return true;
  return false;
}

/* tower's environment, minus the keys configured, plus the configured
 * entries (the last of a repeated key wins). Built once: tower's own
 * environment does not change while it runs. */
static int load_environment(exec_state *s, const tower_config *cfg) {
  size_t n = tower_config_strings_len(cfg, "environment");
  const tower_setting *set = tower_config_setting(cfg, "environment");
  for (size_t i = 0; i < n; i++) {
    const char *e = tower_config_strings_at(cfg, "environment", i);
    if (key_len(e) == 0 || !e[key_len(e)])
      return tower_config_error(cfg, tower_setting_at(set, i) ? tower_setting_at(set, i) : set,
                                "environment[%zu] = \"%s\" must look like \"KEY=value\"", i, e);
  }
  if (n == 0)
    return 0;
  size_t nenv = 0;
  while (environ && environ[nenv])
    nenv++;
  s->envp = calloc(nenv + n + 1, sizeof *s->envp);
  if (!s->envp)
    return -ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < nenv; i++)
    if (!overridden(cfg, environ[i], 0))
      s->envp[k++] = environ[i];
  for (size_t i = 0; i < n; i++) {
    const char *e = tower_config_strings_at(cfg, "environment", i);
    if (!overridden(cfg, e, i + 1))
      s->envp[k++] = (char *)e;
  }
  return 0;
}

/* One parser per command: parsers keep line state, and errors name the
 * command they came from. Telegraf names metrics of formats without a
 * measurement name (json, value) after the plugin. */
static int load_parsers(exec_state *s, const tower_config *cfg) {
  for (size_t i = 0; i < s->ncmds; i++) {
    exec_cmd *c = &s->cmds[i];
    int rc = tower_parser_new(s->ctx, cfg, &c->parser);
    if (rc)
      return rc;
    char source[DISPLAY_MAX + 16];
    snprintf(source, sizeof source, "command '%s'", c->display);
    tower_parser_set_source(c->parser, source);
    rc = tower_parser_set_default_name(c->parser, "exec");
    if (rc)
      return rc;
  }
  return 0;
}

static void read_scalars(exec_state *s, const tower_config *cfg) {
  s->timeout = tower_config_duration(cfg, "timeout");
  s->grace = tower_config_duration(cfg, "kill_grace");
  s->max_output = (size_t)tower_config_size(cfg, "max_output");
  s->stderr_lines = (unsigned)tower_config_int(cfg, "stderr_lines");
  s->ignore_error = tower_config_bool(cfg, "ignore_error");
  s->shell = tower_config_bool(cfg, "shell");
  s->use_cgroup = tower_config_bool(cfg, "cgroup");
  s->data_format = tower_config_string(cfg, "data_format");
  if (!s->data_format)
    s->data_format = "influx";
}

static void exec_destroy(void *state) {
  exec_state *s = state;
  if (!s)
    return;
  exec_run_fini(s);
  for (size_t i = 0; i < s->ncmds; i++) {
    free(s->cmds[i].argv);
    free(s->cmds[i].display);
    exec_out_free(&s->cmds[i]);
    tower_parser_free(s->cmds[i].parser);
  }
  free(s->cmds);
  free(s->envp);
  free(s);
}

static int exec_init(tower_ctx *ctx, const tower_config *cfg, void **state) {
  exec_state *s = calloc(1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->ctx = ctx;
  s->devnull = s->cg_base = s->cg_own_procs = -1;
  read_scalars(s, cfg);
  int rc = load_commands(s, cfg);
  if (rc == 0)
    rc = load_environment(s, cfg);
  if (rc == 0)
    rc = load_parsers(s, cfg);
  /* A config check starts nothing and makes no cgroup: it only finds out
   * whether the commands could be started. */
  if (rc == 0)
    rc = tower_ctx_check_only(ctx) ? exec_check_commands(s, cfg) : exec_run_init(s);
  if (rc) {
    exec_destroy(s);
    return rc;
  }
  *state = s;
  return 0;
}

/* ---- results ------------------------------------------------------------ */

/* "5s", "1.5s", "250ms". */
static void fmt_duration(char *out, size_t len, int64_t ns) {
  if (ns >= 1000000000LL)
    snprintf(out, len, "%gs", (double)ns / 1e9);
  else
    snprintf(out, len, "%gms", (double)ns / 1e6);
}

/* ": <last stderr line>" for error messages, or "". */
static const char *stderr_hint(const exec_cmd *c, char *buf, size_t len) {
  if (!c->last_err[0])
    return "";
  snprintf(buf, len, "; last stderr line: %s", c->last_err);
  return buf;
}

static void report_spawn_error(tower_acc *acc, const exec_cmd *c) {
  const char *prog = c->argv[0];
  const char *hint = "";
  if (c->spawn_err == ENOENT)
    hint = strchr(prog, '/') ? " (check the path)" : " (not found in tower's PATH)";
  else if (c->spawn_err == EACCES)
    hint = " (is it executable? chmod +x)";
  else if (c->spawn_err == ENOEXEC)
    hint = " (not an executable; scripts need a #! line)";
  tower_acc_error(acc, "cannot run '%s': %s%s", prog, strerror(c->spawn_err), hint);
}

/* "pid 12", "pids 12, 34" of the escaped processes in state `alive`. */
static void escape_pids(const exec_escapes *e, bool alive, char *out, size_t len) {
  size_t n = 0, used = 0;
  for (unsigned i = 0; i < e->npids; i++)
    n += e->pid_alive[i] == alive;
  used += (size_t)snprintf(out, len, "%s", n > 1 ? "pids " : "pid ");
  for (unsigned i = 0, k = 0; i < e->npids && used < len; i++)
    if (e->pid_alive[i] == alive)
      used += (size_t)snprintf(out + used, len - used, "%s%d", k++ ? ", " : "", (int)e->pids[i]);
  unsigned total = alive ? e->alive : e->killed;
  if (total > n && used < len)
    snprintf(out + used, len - used, ", ...");
}

/* What became of the processes that had left the command's process group:
 * "", or a sentence starting with "; ". */
static const char *escapes_text(const exec_cmd *c, char *out, size_t len) {
  const exec_escapes *e = &c->esc;
  char pids[96];
  size_t used = 0;
  out[0] = '\0';
  if (e->killed) {
    bool one = e->killed == 1;
    escape_pids(e, false, pids, sizeof pids);
    used += (size_t)snprintf(
        out, len, "; %u %s that had left its process group (%s) %s", e->killed,
        one ? "process" : "processes", pids,
        e->by_cgroup ? (one ? "was killed through its cgroup" : "were killed through its cgroup")
                     : (one ? "held its stdout or stderr and was killed too"
                            : "held its stdout or stderr and were killed too"));
  }
  if (e->alive && used < len) {
    bool one = e->alive == 1;
    escape_pids(e, true, pids, sizeof pids);
    used += (size_t)snprintf(out + used, len - used,
                             "; %u %s that left its process group (%s) %s still running after "
                             "SIGKILL",
                             e->alive, one ? "process" : "processes", pids, one ? "is" : "are");
  }
  if (e->unseen_holder && used < len)
    snprintf(out + used, len - used,
             "; a process tower cannot see (another user's?) still holds its stdout or stderr "
             "and may still be running");
  return out;
}

/* A run ended by the agent stopping keeps its output when stdout had
 * reached EOF and the leader had exited (or then exited with 0, not by the
 * SIGTERM) before the stop: nothing more could have come. */
static bool complete_at_stop(const exec_cmd *c) {
  return c->out_done_at_stop && c->exited &&
         (c->exited_at_stop || (c->wait_code == CLD_EXITED && c->wait_status == 0));
}

/* Reports a run tower had to stop. True when its output may still be
 * parsed (a command that exited but left processes behind, or that had
 * finished its output when the agent stopped). */
static bool report_killed(const exec_state *s, tower_acc *acc, const exec_cmd *c) {
  char t[32], h[EXEC_LINE_MAX + 32], esc[512];
  fmt_duration(t, sizeof t, s->timeout);
  switch (c->why) {
  case EXEC_WHY_TIMEOUT:
    tower_acc_error(acc,
                    "command '%s' timed out after %s; its process group was killed and its "
                    "output discarded (raise timeout if it needs longer)%s%s",
                    c->display, t, escapes_text(c, esc, sizeof esc), stderr_hint(c, h, sizeof h));
    return false;
  case EXEC_WHY_OUTPUT:
    tower_acc_error(acc,
                    "command '%s' wrote more than max_output (%zu byte%s) to stdout; it was "
                    "killed and its output discarded (raise max_output if that much is "
                    "expected)%s",
                    c->display, s->max_output, plural_s(s->max_output),
                    escapes_text(c, esc, sizeof esc));
    return false;
  case EXEC_WHY_STOP:
    if (complete_at_stop(c)) {
      tower_info(s->ctx,
                 "command '%s' stopped: the input is shutting down; its output was complete "
                 "and is kept%s",
                 c->display, escapes_text(c, esc, sizeof esc));
      return true;
    }
    tower_info(s->ctx,
               "command '%s' stopped: the input is shutting down; it was killed and its "
               "partial output discarded%s",
               c->display, escapes_text(c, esc, sizeof esc));
    return false;
  case EXEC_WHY_LINGER:
    tower_acc_error(acc,
                    "command '%s' exited, but processes it started kept its stdout or stderr "
                    "open until the %s timeout; they were killed (start background processes "
                    "with their output redirected, e.g. >/dev/null 2>&1)%s",
                    c->display, t, escapes_text(c, esc, sizeof esc));
    return true;
  default:
    return true;
  }
}

/* "exited with status 3", "was killed by signal 9 (Killed)". */
static void describe_exit(const exec_cmd *c, char *out, size_t len) {
  if (c->wait_code == CLD_EXITED)
    snprintf(out, len, "exited with status %d", c->wait_status);
  else
    snprintf(out, len, "was killed by signal %d (%s)%s", c->wait_status, strsignal(c->wait_status),
             c->wait_code == CLD_DUMPED ? " and dumped core" : "");
}

/* Decides whether the run's output is parsed; reports why not. */
static bool run_succeeded(const exec_state *s, tower_acc *acc, const exec_cmd *c) {
  if (c->spawn_err == ECANCELED) {
    tower_debug(s->ctx, "command '%s' not started: the input is shutting down", c->display);
    return false;
  }
  if (c->spawn_err) {
    report_spawn_error(acc, c);
    return false;
  }
  if (!report_killed(s, acc, c))
    return false;
  if (!c->exited) {
    tower_acc_error(acc, "command '%s' (pid %d) did not die after SIGKILL", c->display,
                    (int)c->pid);
    return false;
  }
  if (c->wait_code == CLD_EXITED && c->wait_status == 0)
    return true;
  if (c->status_lost) {
    tower_acc_error(acc,
                    "command '%s': its exit status was lost: something else in tower reaped "
                    "the process (is SIGCHLD ignored?); its output is not parsed",
                    c->display);
    return false;
  }
  char what[96], h[EXEC_LINE_MAX + 32];
  describe_exit(c, what, sizeof what);
  if (s->ignore_error) {
    tower_debug(s->ctx, "command '%s' %s; parsing its output (ignore_error)", c->display, what);
    return true;
  }
  tower_acc_error(acc, "command '%s' %s; its output is not parsed (set ignore_error to parse it)%s",
                  c->display, what, stderr_hint(c, h, sizeof h));
  return false;
}

static int parse_output(const exec_state *s, tower_acc *acc, exec_cmd *c) {
  uint64_t before = tower_parser_errors(c->parser);
  int n = tower_parser_parse(c->parser, c->out ? c->out : "", c->out_len, tower_acc_sink, acc);
  if (n < 0) {
    tower_acc_error(acc, "command '%s': its output could not be handled: %s", c->display,
                    strerror(-n));
    return n == -ENOMEM ? n : 0;
  }
  uint64_t bad = tower_parser_errors(c->parser) - before;
  if (bad) {
    const char *last = tower_parser_last_error(c->parser);
    tower_acc_error(acc,
                    "command '%s': %" PRIu64 " %s parse error%s in its output, the bad parts "
                    "skipped (%d metric%s kept); last error: %s",
                    c->display, bad, s->data_format, plural_s(bad), n,
                    plural_s((unsigned long long)n), last ? last : "?");
  }
  return 0;
}

static int exec_gather(void *state, tower_acc *acc) {
  exec_state *s = state;
  exec_run_all(s);
  int rc = 0;
  for (size_t i = 0; i < s->ncmds; i++) {
    exec_cmd *c = &s->cmds[i];
    if (c->err_suppressed)
      tower_warn(s->ctx, "command '%s': %u more stderr line%s suppressed (stderr_lines = %u)",
                 c->display, c->err_suppressed, plural_s(c->err_suppressed), s->stderr_lines);
    if (run_succeeded(s, acc, c) && rc == 0)
      rc = parse_output(s, acc, c);
    exec_out_trim(c);
  }
  return rc;
}

static const tower_plugin plugin = {
    TOWER_PLUGIN_HEAD(TOWER_INPUT),
    .flags = TOWER_PLUGIN_PARSER,
    .name = "exec",
    .description = "run commands at every gather and parse their output (no shell, own process "
                   "group, timeout, output cap)",
    .version = PLUGIN_VERSION,
    .options = options,
    .init = exec_init,
    .destroy = exec_destroy,
    .gather = exec_gather,
};

TOWER_PLUGIN_ENTRY(plugin)
