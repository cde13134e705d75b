/* inputs.system: n_users and n_unique_users from utmp, as gopsutil's
 * host.Users (host/host_linux.go): the records of type USER_PROCESS, and
 * their distinct user names.
 *
 * The file is read whole into the instance's buffer and taken as an array of
 * glibc's struct utmpx (<utmpx.h>, the layout glibc writes it in), without
 * utmpxname/getutxent: those keep the file and the position in process-wide
 * state, which two instances gathering at once on their own threads would
 * share. A partial record at the end (a writer caught mid-update) is not
 * counted, as gopsutil does not count it. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <utmpx.h>

#include "system.h"

#define RECORD sizeof(struct utmpx)
#define USER_LEN sizeof(((struct utmpx *)0)->ut_user)

static short record_type(const char *rec) {
  short type;
  memcpy(&type, rec + offsetof(struct utmpx, ut_type), sizeof type);
  return type;
}

static const char *record_user(const char *rec) {
  return rec + offsetof(struct utmpx, ut_user);
}

/* ut_user is NUL-padded, and full when the name has USER_LEN bytes. */
static bool same_user(const char *a, const char *b) {
  return strncmp(a, b, USER_LEN) == 0;
}

/* True when a user process record before `rec` has its user. */
static bool seen_before(const char *data, const char *rec) {
  for (const char *p = data; p < rec; p += RECORD)
    if (record_type(p) == USER_PROCESS && same_user(record_user(p), record_user(rec)))
      return true;
  return false;
}

void sys_read_users(sys_state *s, tower_acc *acc, sys_reading *r) {
  int rc = host_read(&s->buf, s->utmp, 0);
  if (rc == -ENOENT) {
    /* No login manager writes one (containers, minimal systems): Telegraf
     * leaves the fields out without a word, and so do we. */
    return;
  }
  if (rc) {
    tower_acc_error(acc,
                    "cannot read %s: %s; n_users and n_unique_users are left out (the agent's "
                    "user needs read access, usually the utmp group; set HOST_RUN when the "
                    "host's /run is mounted elsewhere)",
                    s->utmp, strerror(-rc));
    return;
  }
  size_t n = s->buf.len / RECORD;
  r->n_users = r->n_unique_users = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rec = s->buf.data + i * RECORD;
    if (record_type(rec) != USER_PROCESS)
      continue;
    r->n_users++;
    r->n_unique_users += !seen_before(s->buf.data, rec);
  }
  r->have_users = true;
}
