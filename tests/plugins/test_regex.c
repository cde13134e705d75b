/* processors.regex through the real core: value conversions of tags and
 * string fields (result_key, append, globs), renames of tags, fields and
 * metrics (keep/overwrite), Go's ReplaceAllString and template rules (the
 * examples of Go's regexp documentation), RE2 constructs as PCRE2 matches
 * them, the ones it refuses, configuration errors with file:line, and a
 * match that fails at run time (the match limit): counted, metric passed on. */
#include "config.h"

#include "check_run.h"
#include "proc_test.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

#define RX(body) "{ plugin = \"regex\"; " body " }"

START_TEST(tag_value_conversion) {
  /* Telegraf's README example: 200 -> 2xx; a value that does not match stays */
  pt_expect(PT_LINES("nginx,resp_code=200,verb=GET n=1i 1", "nginx,resp_code=abc n=2i 2"),
            RX("tag_values = ( { key = \"resp_code\"; pattern = \"^(\\\\d)\\\\d\\\\d$\"; "
               "replacement = \"$${1}xx\"; } );"),
            "nginx,resp_code=2xx,verb=GET n=1i 1\n"
            "nginx,resp_code=abc n=2i 2\n");
}
END_TEST

START_TEST(tag_result_key_and_append) {
  pt_expect(
      PT_LINES("m,path=/var/log/syslog,kind=x n=1i 1"),
      RX("tag_values = ( { key = \"path\"; pattern = \"^/([a-z]+)/.*$\"; replacement = \"$1\"; "
         "result_key = \"top\"; } );"),
      "m,kind=x,path=/var/log/syslog,top=var n=1i 1\n");
  /* append: added to the target's value when the target exists */
  pt_expect(
      PT_LINES("m,path=/var/log,kind=x n=1i 1"),
      RX("tag_values = ( { key = \"path\"; pattern = \"^/([a-z]+)/.*$\"; replacement = \"-$1\"; "
         "result_key = \"kind\"; append = true; } );"),
      "m,kind=x-var,path=/var/log n=1i 1\n");
  /* no match: no result_key tag is made */
  pt_expect(PT_LINES("m,path=relative n=1i 1"),
            RX("tag_values = ( { key = \"path\"; pattern = \"^/([a-z]+)\"; replacement = \"$1\"; "
               "result_key = \"top\"; } );"),
            "m,path=relative n=1i 1\n");
}
END_TEST

START_TEST(tag_key_globs) {
  pt_expect(PT_LINES("m,a=x-1,b=y-2,c=z n=1i 1"),
            RX("tag_values = ( { key = \"*\"; pattern = \"-[0-9]$\"; replacement = \"\"; } );"),
            "m,a=x,b=y,c=z n=1i 1\n");
  pt_expect(PT_LINES("m,a1=x,a2=x,b=x n=1i 1"),
            RX("tag_values = ( { key = [\"a?\"]; pattern = \"x\"; replacement = \"X\"; } );"),
            "m,a1=X,a2=X,b=x n=1i 1\n");
  /* a result equal to "" removes the tag (tower has no empty tag values) */
  pt_expect(PT_LINES("m,a=xx,b=y n=1i 1"),
            RX("tag_values = ( { key = \"a\"; pattern = \"x\"; replacement = \"\"; } );"),
            "m,b=y n=1i 1\n");
}
END_TEST

START_TEST(field_conversion) {
  /* Telegraf's README example: named groups and result_key make new fields */
  pt_expect(PT_LINES("nginx request=\"/api/search/?category=plugins&q=regex\",bytes=270i 1"),
            RX("fields = (\n"
               " { key = \"request\"; pattern = \"^/api(?P<method>/[\\\\w/]+)\\\\S*\";\n"
               "   replacement = \"$${method}\"; result_key = \"method\"; },\n"
               " { key = \"request\"; pattern = \".*category=(\\\\w+).*\"; replacement = \"$1\";\n"
               "   result_key = \"search_category\"; } );"),
            "nginx bytes=270i,method=\"/search/\","
            "request=\"/api/search/?category=plugins&q=regex\",search_category=\"plugins\" 1\n");
  /* only string fields are converted */
  pt_expect(PT_LINES("m s=\"42\",i=42i,f=42 1"),
            RX("fields = ( { key = \"*\"; pattern = \"4\"; replacement = \"X\"; } );"),
            "m f=42,i=42i,s=\"X2\" 1\n");
}
END_TEST

/* Go's documentation of Regexp.ReplaceAllString and Expand, as tags. */
START_TEST(go_replace_all_semantics) {
  const char *in[] = {"m,t=-ab-axxb- n=1i 1", NULL};
  pt_expect(in, RX("tag_values = ( { key = \"t\"; pattern = \"a(x*)b\"; replacement = \"T\"; } );"),
            "m,t=-T-T- n=1i 1\n");
  pt_expect(in,
            RX("tag_values = ( { key = \"t\"; pattern = \"a(x*)b\"; replacement = \"$1\"; } );"),
            "m,t=--xx- n=1i 1\n");
  /* $1W is the group named "1W", which does not exist */
  pt_expect(in,
            RX("tag_values = ( { key = \"t\"; pattern = \"a(x*)b\"; replacement = \"$1W\"; } );"),
            "m,t=--- n=1i 1\n");
  pt_expect(
      in, RX("tag_values = ( { key = \"t\"; pattern = \"a(x*)b\"; replacement = \"$${1}W\"; } );"),
      "m,t=-W-xxW- n=1i 1\n");
  /* empty matches: between characters, not right after a match */
  pt_expect(PT_LINES("m,t=baaac n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"a*\"; replacement = \"-\"; } );"),
            "m,t=-b-c- n=1i 1\n");
  /* $$ is a dollar; a malformed reference is literal */
  pt_expect(PT_LINES("m,t=ab n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"(a)\"; replacement = \"$$1$${x\"; } );"),
            "m,t=$1${xb n=1i 1\n");
  /* a group that took no part expands to nothing; groups after (?:) keep
   * their RE2 numbers */
  pt_expect(
      PT_LINES("m,t=b n=1i 1"),
      RX("tag_values = ( { key = \"t\"; pattern = \"(?:(a)|(b))\"; replacement = \"[$1|$2]\"; "
         "} );"),
      "m,t=[|b] n=1i 1\n");
}
END_TEST

START_TEST(re2_constructs) {
  pt_expect(PT_LINES("m,t=ab\\ 12_x\\ - n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"\\\\w+\\\\s\\\\d\\\\d\"; replacement = "
               "\"W\"; } );"),
            "m,t=W_x\\ - n=1i 1\n");
  pt_expect(
      PT_LINES("m,t=a-b]c.d n=1i 1"),
      RX("tag_values = ( { key = \"t\"; pattern = \"[\\\\-\\\\]\\\\.]\"; replacement = \"_\"; "
         "} );"),
      "m,t=a_b_c_d n=1i 1\n");
  pt_expect(
      PT_LINES("m,t=HeLLo n=1i 1"),
      RX("tag_values = ( { key = \"t\"; pattern = \"(?i)^hello$\"; replacement = \"hi\"; } );"),
      "m,t=hi n=1i 1\n");
  pt_expect(
      PT_LINES("m,t=a/b:c n=1i 1"),
      RX("tag_values = ( { key = \"t\"; pattern = \"\\\\/|\\\\:\"; replacement = \".\"; } );"),
      "m,t=a.b.c n=1i 1\n");
  pt_expect(PT_LINES("m,t=x1y2 n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"\\\\D\"; replacement = \"\"; } );"),
            "m,t=12 n=1i 1\n");
}
END_TEST

/* What RE2 and PCRE2 agree on and POSIX does not: lazy quantifiers,
 * leftmost-first alternation, '.' as one UTF-8 character, Unicode case
 * folding. */
START_TEST(re2_semantics) {
  pt_expect(PT_LINES("m,t=a<b>c<d> n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"<(.+?)>\"; replacement = \"[$1]\"; } );"),
            "m,t=a[b]c[d] n=1i 1\n");
  pt_expect(PT_LINES("m,t=ab n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"a|ab\"; replacement = \"X\"; } );"),
            "m,t=Xb n=1i 1\n");
  pt_expect(PT_LINES("m,t=\xc3\xa9t\xc3\xa9 n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"^.t.$\"; replacement = \"one\"; } );"),
            "m,t=one n=1i 1\n");
  pt_expect(PT_LINES("m,t=\xc3\x89T\xc3\x89 n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"(?i)^\xc3\xa9t\xc3\xa9$\"; replacement = "
               "\"ete\"; } );"),
            "m,t=ete n=1i 1\n");
}
END_TEST

/* Catastrophic backtracking on a hostile value hits the match limit: the
 * failure is logged with the rule and key, counted once for the instance,
 * and the metric goes on with the rules before the failing one applied. */
START_TEST(match_limit_error) {
  char *c = pt_config((const char *const *const[]){PT_LINES(
                          "m,t=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa! n=1i 1")},
                      1,
                      RX("tag_values = ( { key = \"t\"; pattern = \"a\"; replacement = \"b\"; },\n"
                         "  { key = \"t\"; pattern = \"^(b+)+$\"; replacement = \"x\"; } );"));
  char *log_path = th_fmt("%s/log", pt_dir);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  ck_assert_int_eq(th_gather(pl), 0);
  twi_log_set_file(NULL);
  ck_assert_uint_eq(atomic_load(&pl->processors[0]->stats.errors), 1);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  char *path = th_fmt("%s/out.lp", pt_dir);
  char *out = th_read_file(path), *log = th_read_file(log_path);
  ck_assert_str_eq(out, "m,t=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb! n=1i 1\n");
  ck_assert_msg(strstr(log, "[processors.regex] metric m: tag_values[1]: pattern \"^(b+)+$\" on "
                            "\"t\": match limit exceeded") &&
                    strstr(log, "avoid nested quantifiers") &&
                    strstr(log, "the metric was passed on with the rules before this one applied"),
                "log:\n%s", log);
  free(out);
  free(log);
  free(path);
  free(log_path);
  free(c);
}
END_TEST

START_TEST(tag_rename) {
  const char *in[] = {"m,host_name=a,host=b,x=1 n=1i 1", NULL};
  /* keep (default): the target exists, both stay */
  pt_expect(in, RX("tag_rename = ( { pattern = \"^host_(.*)$\"; replacement = \"host\"; } );"),
            "m,host=b,host_name=a,x=1 n=1i 1\n");
  pt_expect(in,
            RX("tag_rename = ( { pattern = \"^host_(.*)$\"; replacement = \"host\"; "
               "result_key = \"overwrite\"; } );"),
            "m,host=a,x=1 n=1i 1\n");
  pt_expect(in, RX("tag_rename = ( { pattern = \"^host_(.*)$\"; replacement = \"$${1}\"; } );"),
            "m,host=b,name=a,x=1 n=1i 1\n");
}
END_TEST

START_TEST(field_rename) {
  pt_expect(PT_LINES("m search_ix=1i,searched=2,found=\"y\",okd=true 1"),
            RX("field_rename = ( { pattern = \"^(search|ok)(\\\\w*)d$\"; replacement = \"$1\"; "
               "} );"),
            "m found=\"y\",ok=true,search=2,search_ix=1i 1\n");
  pt_expect(PT_LINES("m a_x=1i,b_x=2i,x=3i 1"),
            RX("field_rename = ( { pattern = \"^[ab]_\"; replacement = \"\"; "
               "result_key = \"overwrite\"; } );"),
            "m x=2i 1\n");
}
END_TEST

START_TEST(metric_rename_and_order) {
  pt_expect(PT_LINES("nginx_requests n=1i 1", "other n=1i 2"),
            RX("metric_rename = ( { pattern = \"^nginx_(\\\\w+)$\"; replacement = \"web_$1\"; "
               "} );"),
            "web_requests n=1i 1\nother n=1i 2\n");
  /* tags, fields, tag_rename, field_rename, metric_rename, in this order */
  pt_expect(PT_LINES("a,t=1 f=\"2\" 1"),
            RX("metric_rename = ( { pattern = \"a\"; replacement = \"b\"; } );\n"
               "field_rename = ( { pattern = \"^f$\"; replacement = \"g\"; } );\n"
               "tag_rename = ( { pattern = \"^t$\"; replacement = \"u\"; } );\n"
               "fields = ( { key = \"f\"; pattern = \"2\"; replacement = \"3\"; } );\n"
               "tag_values = ( { key = \"t\"; pattern = \"1\"; replacement = \"4\"; } );"),
            "b,u=4 g=\"3\" 1\n");
}
END_TEST

START_TEST(bad_patterns) {
  /* what RE2 and PCRE2 read differently is refused */
  pt_init_error(RX("tag_values = (\n { key = \"t\"; pattern = \"a\\\\v\"; } );"), 5,
                "[processors.regex]",
                /* the log doubles backslashes */
                "tag_values[0]: pattern \"a\\\\v\": \\\\v is the vertical tab in RE2 but any "
                "vertical space in PCRE2: write \\\\x0B");
  pt_init_error(RX("tag_values = (\n { key = \"t\"; pattern = \"[\\\\v]\"; } );"), 5,
                "[processors.regex]", "\\\\v is the vertical tab");
  pt_init_error(RX("tag_values = (\n { key = \"t\"; pattern = \"a{,2}\"; } );"), 5,
                "[processors.regex]", "\"{,\" is literal in RE2");
  pt_init_error(RX("tag_values = (\n { key = \"t\"; pattern = \"(*CR)a.\"; } );"), 5,
                "[processors.regex]", "\"(*\" starts a PCRE2 verb");
  /* inside \Q...\E and escaped, they are literal text for both */
  pt_expect(PT_LINES("m,t=a\\v{\\,(* n=1i 1"),
            RX("tag_values = ( { key = \"t\"; pattern = \"\\\\Q\\\\v{,\\\\E\\\\(\\\\*\"; "
               "replacement = \"X\"; } );"),
            "m,t=aX n=1i 1\n");
  pt_init_error(RX("fields = (\n { key = \"t\";\n  pattern = \"(a\"; } );"), 6,
                "[processors.regex]", "fields[0]: pattern \"(a\": ");
  pt_init_error(RX("metric_rename = (\n { pattern = \"(?P<x>a)\"; replacement = \"$${y}\"; } );"),
                5, "[processors.regex]",
                "replacement refers to group \"y\", which the pattern does not name");
  pt_init_error(RX("tag_rename = (\n { pattern = \"(a)\\\\1\"; } );"), 5, "[processors.regex]",
                "\\\\1 to \\\\9 are back-references in PCRE2");
  pt_build_error(RX("tag_values = ( { pattern = \"a\"; } );"), "key");
  pt_build_error(RX("tag_rename = ( { pattern = \"a\"; result_key = \"replace\"; } );"),
                 "\"replace\" is not one of keep|overwrite");
}
END_TEST

/* Without writable executable memory (the kernel's MemoryDenyWriteExecute,
 * as tower.service runs) PCRE2's JIT is refused: the patterns still work,
 * and the log says why they are slower. In a child, since the restriction
 * cannot be lifted. Under valgrind (tests/valgrind.sh), which cannot run
 * without such memory itself and never lets PCRE2 try its JIT, only the
 * silence is checked. */
START_TEST(jit_refused_is_reported) {
  const char *rx = RX("tag_values = ( { key = \"t\"; pattern = \"^(a)b$\"; "
                      "replacement = \"$1\"; } );");
  char *log;
  if (getenv("TOWER_TEST_UNDER_VALGRIND")) {
    log = pt_init_log_ok(rx, true);
    ck_assert_msg(!strstr(log, "JIT is not available"), "%s", log);
    free(log);
    return;
  }
  /* the child first: PCRE2 keeps the executable memory of a JIT compile for
   * the next ones, which a child would inherit */
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L) != 0)
      _exit(errno == EINVAL ? 4 : 3); /* 4: no MDWE in this kernel (Linux < 6.3) */
    log = pt_init_log_ok(rx, true);
    if (!strstr(log, "PCRE2's JIT is not available here (") ||
        !strstr(log, "MemoryDenyWriteExecute=no")) {
      fprintf(stderr, "log:\n%s\n", log);
      _exit(1);
    }
    char *got = pt_run(PT_LINES("m,t=ab n=1i 1"), rx);
    _exit(strcmp(got, "m,t=a n=1i 1\n") == 0 ? 0 : 2);
  }
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 4)
    fprintf(stderr, "note: this kernel has no PR_SET_MDWE (Linux < 6.3): the refused JIT was "
                    "not exercised\n");
  else
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "child: %d (1: the log, 2: the result, 3: prctl(PR_SET_MDWE) failed)",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
  log = pt_init_log_ok(rx, true); /* with the JIT, nothing is said */
  ck_assert_msg(!strstr(log, "JIT is not available"), "%s", log);
  free(log);
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.regex");
  TCase *t = tcase_create("regex");
  tcase_add_checked_fixture(t, pt_setup, pt_teardown);
  tcase_add_test(t, tag_value_conversion);
  tcase_add_test(t, tag_result_key_and_append);
  tcase_add_test(t, tag_key_globs);
  tcase_add_test(t, field_conversion);
  tcase_add_test(t, go_replace_all_semantics);
  tcase_add_test(t, re2_constructs);
  tcase_add_test(t, re2_semantics);
  tcase_add_test(t, match_limit_error);
  tcase_add_test(t, tag_rename);
  tcase_add_test(t, field_rename);
  tcase_add_test(t, metric_rename_and_order);
  tcase_add_test(t, bad_patterns);
  tcase_add_test(t, jit_refused_is_reported);
  suite_add_tcase(s, t);
  return check_run(s);
}
