/* inputs.net: the protocol counters of /proc/net/snmp, as Telegraf (before
 * 1.37) reported them with ignore_protocol_stats = false.
 *
 * The file holds pairs of lines, a head and its values:
 *   Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens ...
 *   Tcp: 1 200 120000 -1 679621 ...
 * Every pair of the sections gopsutil's net.ProtoCounters reads (Ip, Icmp,
 * IcmpMsg, Tcp, Udp, UdpLite) becomes fields "<section>_<column>", both
 * lowercased, as int64 (gopsutil parses them signed: Tcp MaxConn is -1).
 * IcmpMsg lists only the message types seen so far, 16 a pair, so it may
 * be absent or come as several pairs; a column a kernel does not have
 * (Ip OutTransmits before 6.3) is simply not a field.
 *
 * gopsutil drops every section when one pair is malformed, and Telegraf
 * ignores the error; here only the malformed pair is left out, and the
 * gather reports it once, with the line. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../common/plural.h"
#include "net.h"

/* Longest "<section>_<column>" key; the kernel's are under 40 bytes. */
#define KEY_MAX 128

static const char *const sections[] = {"ip", "icmp", "icmpmsg", "tcp", "udp", "udplite"};

/* Length of the section name before the colon of a line; 0 without one. */
static size_t section_len(const char *line, size_t len) {
  const char *colon = memchr(line, ':', len);
  return colon ? (size_t)(colon - line) : 0;
}

static bool wanted(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof sections / sizeof *sections; i++)
    if (strlen(sections[i]) == len && strncasecmp(sections[i], name, len) == 0)
      return true;
  return false;
}

/* The next blank-separated token of [*p, end); false at the end. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *len) {
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if (s == end)
    return false;
  const char *e = s;
  while (e < end && *e != ' ' && *e != '\t')
    e++;
  *tok = s;
  *len = (size_t)(e - s);
  *p = e;
  return true;
}

/* A whole token as a signed 64-bit decimal. */
static bool parse_i64(const char *tok, size_t len, int64_t *out) {
  bool neg = len > 0 && tok[0] == '-';
  const char *p = tok + neg, *end = tok + len;
  uint64_t v;
  if (p == end || !host_parse_u64(&p, end, &v) || p != end)
    return false;
  if (v > (uint64_t)INT64_MAX + neg)
    return false;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}

/* "<section>_<column>", lowercased, into key[KEY_MAX]. */
static bool make_key(char *key, const char *sec, size_t slen, const char *col, size_t clen) {
  if (slen + 1 + clen >= KEY_MAX)
    return false;
  for (size_t i = 0; i < slen; i++)
    key[i] = (char)tolower((unsigned char)sec[i]);
  key[slen] = '_';
  for (size_t i = 0; i < clen; i++)
    key[slen + 1 + i] = (char)tolower((unsigned char)col[i]);
  key[slen + 1 + clen] = '\0';
  return true;
}

/* One pair of lines, each past its "Section:". */
typedef struct {
  const char *sec;
  size_t slen;
  const char *head, *head_end, *vals, *vals_end;
} snmp_pair;

/* Walks the columns of a pair: checks them all when m is NULL, else adds
 * them. 0, -EINVAL when names and values do not pair up, -ENOMEM. */
static int walk_pair(const snmp_pair *pr, tower_metric *m) {
  const char *h = pr->head, *v = pr->vals, *name, *val;
  size_t nlen, vlen;
  int columns = 0;
  for (;;) {
    bool more_names = next_token(&h, pr->head_end, &name, &nlen);
    bool more_vals = next_token(&v, pr->vals_end, &val, &vlen);
    if (more_names != more_vals)
      return -EINVAL;
    if (!more_names)
      return columns ? 0 : -EINVAL;
    int64_t x;
    char key[KEY_MAX];
    if (!parse_i64(val, vlen, &x) || !make_key(key, pr->sec, pr->slen, name, nlen))
      return -EINVAL;
    if (m && tower_metric_add_int(m, key, x))
      return -ENOMEM;
    columns++;
  }
}

/* What went wrong in the file, reported once per gather. */
typedef struct {
  unsigned bad, first_line;
} snmp_faults;

static void fault(snmp_faults *f, unsigned line) {
  if (f->bad++ == 0)
    f->first_line = line;
}

/* Adds every wanted, well-formed pair of the file to m. 0 or -ENOMEM. */
static int add_pairs(const host_buf *buf, tower_metric *m, snmp_faults *f) {
  host_lines it;
  host_lines_init(&it, buf);
  const char *line, *prev = NULL;
  size_t len, plen = 0, slen = 0;
  unsigned no = 0;
  while (host_lines_next(&it, &line, &len)) {
    no++;
    size_t n = section_len(line, len);
    if (prev && (n != slen || memcmp(line, prev, n) != 0)) {
      fault(f, no - 1); /* a head without values: this line starts anew */
      prev = NULL;
    }
    if (!prev) { /* a head: its values come next */
      if (n > 0) {
        prev = line;
        plen = len;
        slen = n;
      } else if (len > 0) {
        fault(f, no);
      }
      continue;
    }
    snmp_pair pr = {prev, slen, prev + slen + 1, prev + plen, line + n + 1, line + len};
    prev = NULL;
    if (!wanted(pr.sec, slen))
      continue;
    int rc = walk_pair(&pr, NULL);
    if (rc == 0)
      rc = walk_pair(&pr, m);
    if (rc == -ENOMEM)
      return rc;
    if (rc)
      fault(f, no);
  }
  if (prev)
    fault(f, no);
  return 0;
}

static tower_metric *new_all_metric(void) {
  tower_metric *m = tower_metric_new("net", TOWER_TIME_UNSET);
  if (m && tower_metric_add_tag(m, "interface", "all")) {
    tower_metric_free(m);
    return NULL;
  }
  return m; /* untyped, as Telegraf's AddFields */
}

int net_gather_snmp(host_buf *buf, const char *snmp_path, tower_acc *acc) {
  int rc = host_read(buf, snmp_path, 0);
  if (rc) {
    tower_acc_error(acc,
                    "cannot read %s: %s (set HOST_PROC when the host's /proc is mounted "
                    "elsewhere, or ignore_protocol_stats = true)",
                    snmp_path, strerror(-rc));
    return rc;
  }
  tower_metric *m = new_all_metric();
  if (!m)
    return -ENOMEM;
  snmp_faults f = {0, 0};
  if ((rc = add_pairs(buf, m, &f))) {
    tower_metric_free(m);
    return rc;
  }
  if (f.bad)
    tower_acc_error(acc,
                    "%s:%u: malformed protocol counters (%u pair%s left out); is it Linux's "
                    "/proc/net/snmp?",
                    snmp_path, f.first_line, f.bad, plural_s(f.bad));
  if (tower_metric_field_count(m) == 0) {
    tower_metric_free(m);
    if (!f.bad)
      tower_acc_error(acc, "%s has no Ip, Icmp, Tcp or Udp counters; is it Linux's /proc/net/snmp?",
                      snmp_path);
    return -EINVAL;
  }
  return tower_acc_add(acc, m);
}
