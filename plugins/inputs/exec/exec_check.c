/* inputs.exec under --config-check: each command's program is looked up as
 * the gather will start it (posix_spawnp: a name with a slash is a path,
 * relative to tower's working directory; a bare name is searched in
 * tower's own PATH), and the reason it could not start is told now, with
 * the component at fault, instead of at the first gather:
 *   "/opt/app/bin is not searchable by uid 1000 (mode 0700, owner root, ...)"
 *   "'collect' is not in PATH (/usr/local/bin:/usr/bin:/bin)"
 * A script's #! interpreter is checked the same way: a missing interpreter
 * makes the kernel say ENOENT about a script that exists, the most
 * confusing error there is (and a Windows line ending, "#!/bin/sh\r",
 * names an interpreter that never exists).
 *
 * Nothing is started, opened for long, or created; the files are read
 * only for their first line. */
#define _GNU_SOURCE /* strchrnul */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/check/path_check.h"
#include "exec.h"

/* posix_spawnp's search path when PATH is unset (glibc's default). */
#define EXEC_DEFAULT_PATH "/bin:/usr/bin"

/* The setting of commands[i], for file:line. */
static const tower_setting *command_setting(const tower_config *cfg, size_t i) {
  const tower_setting *set = tower_config_setting(cfg, "commands");
  const tower_setting *e =
      tower_setting_kind(set) == TOWER_SETTING_STRING ? NULL : tower_setting_at(set, i);
  return e ? e : set;
}

/* What the first bytes of a program say it is. */
typedef enum exec_head {
  HEAD_UNREAD = 0, /* not readable: running a binary needs no read permission */
  HEAD_ELF,
  HEAD_SCRIPT, /* "#!": the interpreter is in interp */
  HEAD_OTHER,  /* neither: the kernel refuses it unless binfmt_misc knows it */
} exec_head;

/* Reads the first line of `path`; for a script, the word after "#!" goes
 * to interp[size] (a trailing carriage return kept, to be reported). */
static exec_head read_head(const char *path, char *interp, size_t size) {
  char head[256];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return HEAD_UNREAD;
  ssize_t n = read(fd, head, sizeof head - 1);
  close(fd);
  if (n < 0)
    return HEAD_UNREAD;
  head[n] = '\0';
  if (n >= 4 && memcmp(head, "\177ELF", 4) == 0)
    return HEAD_ELF;
  if (n < 2 || head[0] != '#' || head[1] != '!')
    return HEAD_OTHER;
  const char *p = head + 2 + strspn(head + 2, " \t");
  size_t len = strcspn(p, " \t\n");
  if (len >= size)
    len = size - 1;
  memcpy(interp, p, len);
  interp[len] = '\0';
  return HEAD_SCRIPT;
}

/* The program at `path` is there and executable: a script's interpreter
 * must be too. */
static int check_script(exec_state *s, const tower_config *cfg, size_t i, const char *path) {
  char interp[PATH_MAX] = "", why[PATH_WHY_MAX];
  const char *prog = s->cmds[i].argv[0];
  exec_head kind = read_head(path, interp, sizeof interp);
  if (kind == HEAD_OTHER) /* binfmt_misc may run it (a .jar, a foreign binary): a warning */
    tower_warn(s->ctx,
               "commands[%zu] \"%s\": %s has no #! line and is not an ELF binary; unless a "
               "binfmt_misc handler runs it, it fails with \"Exec format error\" (add a line "
               "such as #!/bin/sh)",
               i, prog, path);
  if (kind != HEAD_SCRIPT || interp[0] != '/') /* a relative interpreter: rare, left alone */
    return 0;
  size_t n = strlen(interp);
  if (interp[n - 1] == '\r') {
    interp[n - 1] = '\0';
    return tower_config_error(cfg, command_setting(cfg, i),
                              "commands[%zu] \"%s\": the #! line of %s ends in a carriage return "
                              "(Windows line endings), so the interpreter it names is \"%s\" "
                              "plus a CR, which does not exist; convert the script, e.g. with "
                              "dos2unix",
                              i, prog, path, interp);
  }
  int rc = path_check(interp, PATH_FILE, X_OK, why, sizeof why);
  if (rc)
    return tower_config_error(cfg, command_setting(cfg, i),
                              "commands[%zu] \"%s\": its #! line names the interpreter %s, which "
                              "cannot run: %s; install it or fix the #! line",
                              i, prog, interp, why);
  return 0;
}

/* What to do when path_check refused a program. */
static const char *program_hint(int rc, const char *why) {
  if (rc == -EACCES && strstr(why, "not executable by"))
    return "make it executable (chmod +x) or fix the path";
  if (rc == -EACCES)
    return "let the user tower runs as reach it (chmod), or run tower as a user who may";
  if (rc == -EISDIR)
    return "give the program's path, not a directory";
  return "fix the path in commands, or install the program there";
}

/* A note when `environment` sets a PATH, which an operator may think
 * is searched: posix_spawnp searches tower's own. */
static const char *env_path_note(const tower_config *cfg) {
  for (size_t i = 0; i < tower_config_strings_len(cfg, "environment"); i++)
    if (strncmp(tower_config_strings_at(cfg, "environment", i), "PATH=", 5) == 0)
      return " (programs are looked up in tower's own PATH; the PATH set in `environment` is "
             "only the command's)";
  return "";
}

/* A bare name: the first PATH directory holding an executable file of
 * that name, as posix_spawnp finds it. With none, the message lists PATH
 * and why the candidates found were refused. */
static int check_in_path(exec_state *s, const tower_config *cfg, size_t i) {
  const char *prog = s->cmds[i].argv[0];
  const char *path = getenv("PATH");
  if (!path)
    path = EXEC_DEFAULT_PATH;
  char cand[PATH_MAX], why[PATH_WHY_MAX], refused[PATH_WHY_MAX + 2] = "";
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    int dl = (int)(end - p);
    if (snprintf(cand, sizeof cand, "%.*s/%s", dl ? dl : 1, dl ? p : ".", prog) <
        (int)sizeof cand) {
      int rc = path_check(cand, PATH_FILE, X_OK, why, sizeof why);
      if (rc == 0)
        return check_script(s, cfg, i, cand);
      if (rc != -ENOENT && rc != -ENOTDIR && !refused[0])
        snprintf(refused, sizeof refused, "; %s", why); /* the first refusal names the file */
    }
    if (!*end)
      break;
    p = end;
  }
  return tower_config_error(cfg, command_setting(cfg, i),
                            "commands[%zu]: '%s' is not in PATH (%s)%s%s; give the full path or "
                            "install it in one of those directories",
                            i, prog, path, refused, env_path_note(cfg));
}

/* A relative path is resolved against the agent's working directory (/
 * under systemd), which the check, run from a shell, does not share: what
 * it cannot find here is a warning, with the file:line of the command. */
static int warn_relative(exec_state *s, const tower_config *cfg, size_t i, const char *why) {
  const tower_setting *at = command_setting(cfg, i);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    snprintf(cwd, sizeof cwd, "?");
  tower_warn(s->ctx,
             "%s:%u: commands[%zu] \"%s\" is relative to tower's working directory; from this "
             "check's (%s): %s; unless the agent runs elsewhere, give an absolute path",
             tower_setting_file(at) ? tower_setting_file(at) : "?", tower_setting_line(at), i,
             s->cmds[i].argv[0], cwd, why);
  return 0;
}

static int check_command(exec_state *s, const tower_config *cfg, size_t i) {
  const char *prog = s->cmds[i].argv[0];
  if (!strchr(prog, '/'))
    return check_in_path(s, cfg, i);
  char why[PATH_WHY_MAX];
  int rc = path_check(prog, PATH_FILE, X_OK, why, sizeof why);
  if (rc && prog[0] != '/')
    return warn_relative(s, cfg, i, why);
  if (rc)
    return tower_config_error(cfg, command_setting(cfg, i), "commands[%zu] \"%s\": %s; %s", i, prog,
                              why, program_hint(rc, why));
  return check_script(s, cfg, i, prog);
}

int exec_check_commands(exec_state *s, const tower_config *cfg) {
  int first = 0;
  for (size_t i = 0; i < s->ncmds; i++) { /* every command is reported, not just the first */
    int rc = check_command(s, cfg, i);
    if (rc && !first)
      first = rc;
  }
  return first;
}
