/* processors.lua through the real core: a lines input feeds fixed metrics
 * through a Lua script into a record output, whose line protocol is
 * compared with what the script must make of them. Also the failures
 * (runaway loop, memory limit, Lua errors, bad results), which must be
 * counted and logged with file:line and leave the metric as on_error says,
 * configuration errors (init and the real `tower --config-check`), and the
 * sandbox. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tower/tower.h>

#include "check_run.h"
#include "harness.h"
#include "log_internal.h"

static char *dir, *log_path;

static void setup(void) {
  dir = th_tmpdir();
  log_path = th_fmt("%s/log", dir);
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  twi_log_set_level(TOWER_LOG_INFO);
}

static void teardown(void) {
  twi_log_set_file(NULL);
  th_rmrf(dir);
  free(log_path);
  free(dir);
}

/* Every field type once, and a second metric. */
#define INPUT                                                                                      \
  "\"cpu,host=a count=7u,state=\\\"42\\\",up=true,usage=1.5,used=10i 1\","                         \
  "\"mem,host=a used=2048i 2\""
#define AS_IS                                                                                      \
  "cpu,host=a count=7u,state=\"42\",up=true,usage=1.5,used=10i 1\n"                                \
  "mem,host=a used=2048i 2\n"

/* Config text: line 1 agent, line 2 the input, line 3 "processors = (",
 * `procs` from line 4 on. A Lua source written as one libconfig string per
 * line, each ending in \n, starting on line 4, has Lua line k on line 3+k. */
static char *config(const char *procs) {
  return th_fmt("agent = { omit_hostname = true; };\n"
                "inputs = ( { plugin = \"lines\"; precision = \"1ns\"; lines = [" INPUT "]; } );\n"
                "processors = (\n%s\n);\n"
                "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                procs, dir);
}

/* One gather and flush; what the output wrote (malloc'd); the processor's
 * error count in *errors. */
static char *run_counting(const char *procs, uint64_t *errors) {
  char *c = config(procs);
  twi_pipeline *pl = th_start(c, TWI_ONCE);
  ck_assert_int_eq(th_gather(pl), 0);
  *errors = atomic_load(&pl->processors[0]->stats.errors);
  ck_assert_uint_eq(th_flush(pl), 0);
  th_free(pl);
  free(c);
  char *path = th_fmt("%s/out.lp", dir);
  char *text = th_read_file(path);
  remove(path);
  free(path);
  return text ? text : strdup("");
}

static char *read_log(void) {
  char *log = th_read_file(log_path);
  return log ? log : strdup("");
}

/* Runs `procs` and checks the output is `want` without processor errors. */
static void check_output(const char *procs, const char *want) {
  uint64_t errors;
  char *got = run_counting(procs, &errors);
  char *log = read_log();
  ck_assert_msg(strcmp(got, want) == 0 && errors == 0,
                "got (%" PRIu64 " errors):\n%s\nwant:\n%s\nlog:\n%s", errors, got, want, log);
  free(log);
  free(got);
}

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++)
    n++;
  return n;
}

#define LUA(src) "{ plugin = \"lua\"; source = " src "; }"

/* ---- transformations ------------------------------------------------------ */

START_TEST(baseline_passes_unchanged) {
  check_output(LUA("\"function process(m) return m end\""), AS_IS);
}
END_TEST

START_TEST(rename_field_and_scale) {
  /* the integer field stays an integer, the unsigned one unsigned */
  check_output(LUA("\"function process(m)\\n\"\n"
                   "\"  m.fields.used_kb = m.fields.used * 1024; m.fields.used = nil\\n\"\n"
                   "\"  if m.fields.count then m.fields.count = m.fields.count + 1 end\\n\"\n"
                   "\"  return m\\n\"\n"
                   "\"end\\n\""),
               "cpu,host=a count=8u,state=\"42\",up=true,usage=1.5,used_kb=10240i 1\n"
               "mem,host=a used_kb=2097152i 2\n");
}
END_TEST

START_TEST(convert_string_and_types) {
  check_output(
      LUA("\"function process(m)\\n\"\n"
          "\"  local f = m.fields\\n\"\n"
          "\"  if f.state then f.state = math.tointeger(tonumber(f.state)) end\\n\"\n"
          "\"  if f.usage then f.usage = f.usage * 2; f.half = 0.5 end\\n\"\n"
          "\"  if f.up ~= nil then f.up = not f.up; f.kind = 'x' .. math.type(f.used) end\\n\"\n"
          "\"  m.tags.zone = 'z' .. #m.tags; m.tags.host = nil; m.name = m.name .. '_x'\\n\"\n"
          "\"  m.time = m.time + 10\\n\"\n"
          "\"  return m\\n\"\n"
          "\"end\\n\""),
      "cpu_x,zone=z1 count=7u,half=0.5,kind=\"xinteger\",state=42i,up=false,usage=3,"
      "used=10i 11\n"
      "mem_x,zone=z1 used=2048i 12\n");
}
END_TEST

START_TEST(iterate_tags_and_fields) {
  check_output(
      LUA("\"function process(m)\\n\"\n"
          "\"  local keys = {}\\n\"\n"
          "\"  for k, v in pairs(m.fields) do keys[#keys + 1] = k .. '=' .. tostring(v) end\\n\"\n"
          "\"  for k, v in pairs(m.tags) do keys[#keys + 1] = k .. '=' .. v end\\n\"\n"
          "\"  return Metric('keys', {n = tostring(#m.fields)}, {all = table.concat(keys, ';')}, "
          "m.time)\\n\"\n"
          "\"end\\n\""),
      "keys,n=5 all=\"count=7;state=42;up=true;usage=1.5;used=10;host=a\" 1\n"
      "keys,n=1 all=\"used=2048;host=a\" 2\n");
}
END_TEST

START_TEST(drop_with_nil) {
  check_output(LUA("\"function process(m) if m.name == 'mem' then return nil end return m end\""),
               "cpu,host=a count=7u,state=\"42\",up=true,usage=1.5,used=10i 1\n");
  /* a metric not among the returned ones is dropped too */
  check_output(LUA("\"function process(m) return {} end\""), "");
}
END_TEST

START_TEST(fan_out) {
  check_output(
      LUA("\"function process(m)\\n\"\n"
          "\"  if m.name ~= 'mem' then return m end\\n\"\n"
          "\"  local c = deepcopy(m); c.name = 'mem_copy'; c.fields.used = 1\\n\"\n"
          "\"  return {m, c, Metric('extra', {src = m.name}, {n = 3, ok = false}, 5), m}\\n\"\n"
          "\"end\\n\""),
      "cpu,host=a count=7u,state=\"42\",up=true,usage=1.5,used=10i 1\n"
      "mem,host=a used=2048i 2\n"
      "mem_copy,host=a used=1i 2\n"
      "extra,src=mem n=3i,ok=false 5\n");
}
END_TEST

START_TEST(state_across_calls) {
  /* `state` and a deepcopy kept in it outlive the call; a new metric without
   * a time gets the gather's */
  check_output(
      LUA("\"function process(m)\\n\"\n"
          "\"  state.n = (state.n or 0) + 1\\n\"\n"
          "\"  m.fields.seq = state.n\\n\"\n"
          "\"  local prev = state.prev; state.prev = deepcopy(m)\\n\"\n"
          "\"  if prev then return {m, Metric('prev', {}, {name = prev.name}, m.time)} end\\n\"\n"
          "\"  return m\\n\"\n"
          "\"end\\n\""),
      "cpu,host=a count=7u,seq=1i,state=\"42\",up=true,usage=1.5,used=10i 1\n"
      "mem,host=a seq=2i,used=2048i 2\n"
      "prev name=\"cpu\" 2\n");
}
END_TEST

START_TEST(script_file) {
  char *path = th_fmt("%s/double.lua", dir);
  ck_assert_int_eq(
      th_write_file(path, "-- doubles every integer field\n"
                          "function process(metric)\n"
                          "  for k, v in pairs(metric.fields) do\n"
                          "    if math.type(v) == 'integer' then metric.fields[k] = v * 2 end\n"
                          "  end\n"
                          "  return metric\n"
                          "end\n"),
      0);
  char *block = th_fmt("{ plugin = \"lua\"; script = \"%s\"; }", path);
  check_output(block, "cpu,host=a count=14u,state=\"42\",up=true,usage=1.5,used=20i 1\n"
                      "mem,host=a used=4096i 2\n");
  free(block);
  free(path);
}
END_TEST

START_TEST(print_logs) {
  check_output(LUA("\"function process(m) print('seen', m.name, 1.5) return m end\""), AS_IS);
  char *log = read_log();
  ck_assert_msg(count(log, " I! [processors.lua] print: seen\\tcpu\\t1.5\n") == 1, "%s", log);
  free(log);
}
END_TEST

/* ---- failures ------------------------------------------------------------- */

/* Runs `procs`, which must fail once per metric; checks the output and that
 * each failure is logged with `what` once per metric. */
static void check_failure(const char *procs, const char *want, const char *what) {
  remove(log_path); /* this run's lines only */
  ck_assert_int_eq(twi_log_set_file(log_path), 0);
  uint64_t errors;
  char *got = run_counting(procs, &errors);
  ck_assert_msg(strcmp(got, want) == 0, "got:\n%s\nwant:\n%s", got, want);
  ck_assert_uint_eq(errors, 2);
  char *log = read_log();
  ck_assert_msg(count(log, what) == 2, "want twice \"%s\" in:\n%s", what, log);
  ck_assert_msg(count(log, " E! [processors.lua] ") == 2, "log:\n%s", log);
  free(log);
  free(got);
}

START_TEST(runtime_error_passes_unchanged) {
  /* the change made before the error is undone: the metric goes on as it came */
  check_failure(LUA("\"function process(m)\\n\"\n"
                    "\"  m.fields.used = -1; m.name = 'changed'\\n\"\n"
                    "\"  return m.fields.nothing.x\\n\"\n"
                    "\"end\\n\""),
                AS_IS, "/tower.conf:6: attempt to index a nil value (field 'nothing')");
  char *log = read_log();
  ck_assert_msg(strstr(log, "(metric \"cpu\"); the metric was passed on unchanged\n") &&
                    strstr(log, "(metric \"mem\"); the metric was passed on unchanged\n"),
                "%s", log);
  free(log);
}
END_TEST

START_TEST(runtime_error_on_error_drop) {
  check_failure("{ plugin = \"lua\"; on_error = \"drop\"; source = \"function process(m)\\n\"\n"
                "\"  error('no way')\\n\"\n"
                "\"end\\n\"; }",
                "", "/tower.conf:5: no way (metric \"");
  char *log = read_log();
  ck_assert_int_eq(count(log, "the metric was dropped\n"), 2);
  free(log);
}
END_TEST

START_TEST(runaway_loop_is_aborted) {
  double t0 = (double)tower_mono_ns();
  check_failure(
      "{ plugin = \"lua\"; max_instructions = 100000; source = \"function process(m)\\n\"\n"
      "\"  m.fields.used = 0\\n\"\n"
      "\"  while true do end\\n\"\n"
      "\"end\\n\"; }",
      AS_IS, "/tower.conf:6: the call ran more than 100000 Lua instructions");
  /* 2 x 100,000 instructions: far below a second even under valgrind */
  ck_assert_double_lt(((double)tower_mono_ns() - t0) / 1e9, 10.0);
}
END_TEST

START_TEST(runaway_loop_cannot_catch_the_abort) {
  check_failure(
      "{ plugin = \"lua\"; max_instructions = 100000; source = \"function process(m)\\n\"\n"
      "\"  while true do pcall(function() while true do end end) end\\n\"\n"
      "\"end\\n\"; }",
      AS_IS, "Lua instructions (max_instructions) (metric \"");
}
END_TEST

START_TEST(memory_limit) {
  /* each call fails at the limit, and the next call has its memory back */
  check_failure("{ plugin = \"lua\"; memory_limit = \"1MiB\"; source = \"function process(m)\\n\"\n"
                "\"  local t = {}\\n\"\n"
                "\"  for i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end\\n\"\n"
                "\"end\\n\"; }",
                AS_IS, "the script needed more than memory_limit (1048576 bytes) (metric \"");
  check_failure("{ plugin = \"lua\"; memory_limit = \"1MiB\"; source = \"function process(m)\\n\"\n"
                "\"  return string.rep('x', 4000000)\\n\"\n"
                "\"end\\n\"; }",
                AS_IS, "needed more than memory_limit");
}
END_TEST

START_TEST(bad_result) {
  check_failure(LUA("\"function process(m) return 42 end\""), AS_IS,
                "process returned a number; return the metric, a list of metrics, or nil to drop "
                "it (metric \"");
  check_failure(LUA("\"function process(m) return {m, 'x'} end\""), AS_IS,
                "process returned a string; return the metric");
  /* a metric kept in state is sent once; the second call returns a dead one */
  uint64_t errors;
  char *got = run_counting(LUA("\"function process(m)\\n\"\n"
                               "\"  state.c = state.c or Metric('once', {}, {v = 1}, 7)\\n\"\n"
                               "\"  return {m, state.c}\\n\"\n"
                               "\"end\\n\""),
                           &errors);
  ck_assert_str_eq(got, "cpu,host=a count=7u,state=\"42\",up=true,usage=1.5,used=10i 1\n"
                        "once v=1i 7\n"
                        "mem,host=a used=2048i 2\n");
  ck_assert_uint_eq(errors, 1);
  char *log = read_log();
  ck_assert_msg(strstr(log, "process returned a metric that an earlier call passed on already; "
                            "return deepcopy(metric) to send one twice (metric \"mem\"); the "
                            "metric was passed on unchanged\n"),
                "%s", log);
  free(log);
  free(got);
}
END_TEST

START_TEST(bad_values) {
  check_failure(LUA("\"function process(m) m.fields.x = {} return m end\""), AS_IS,
                "/tower.conf:4: field \"x\": a table cannot be a field value");
  check_failure(LUA("\"function process(m) m.tags.x = '' return m end\""), AS_IS,
                "/tower.conf:4: tag \"x\": empty names, empty tag values");
  check_failure(LUA("\"function process(m) m.colour = 1 return m end\""), AS_IS,
                "a metric has no member \"colour\" (name, time, tags, fields)");
  check_failure(LUA("\"function process(m) m.time = 1.5 return m end\""), AS_IS,
                "time must be an integer");
}
END_TEST

START_TEST(kept_handle_is_dead) {
  /* the first call keeps the metric itself, not a copy: using it later fails */
  uint64_t errors;
  char *got = run_counting(LUA("\"function process(m)\\n\"\n"
                               "\"  if state.kept then m.fields.old = state.kept.name end\\n\"\n"
                               "\"  state.kept = m; return m\\n\"\n"
                               "\"end\\n\""),
                           &errors);
  ck_assert_str_eq(got, AS_IS);
  ck_assert_uint_eq(errors, 1);
  char *log = read_log();
  ck_assert_msg(strstr(log, "this metric was passed on or dropped when process returned; to keep a "
                            "metric across calls, keep deepcopy(metric) (metric \"mem\")"),
                "%s", log);
  free(log);
  free(got);
}
END_TEST

/* ---- the sandbox ---------------------------------------------------------- */

START_TEST(sandbox_has_no_escape) {
  /* each line records whether the way out is closed */
  check_output(
      LUA("\"function process(m)\\n\"\n"
          "\"  local f = {}\\n\"\n"
          "\"  f.io = io == nil; f.os = os == nil; f.require = require == nil\\n\"\n"
          "\"  f.package = package == nil; f.debug = debug == nil; f.dofile = dofile == nil\\n\"\n"
          "\"  f.loadfile = loadfile == nil; f.gc = collectgarbage == nil\\n\"\n"
          "\"  f.dump = string.dump == nil\\n\"\n"
          "\"  local fn, err = load('\\\\27LuaT\\\\0\\\\25\\\\147\\\\r\\\\n', 'bc', 'b')\\n\"\n"
          "\"  f.bytecode = fn == nil and err:find('binary chunk') ~= nil\\n\"\n"
          "\"  f.text = load('return 6 * 7')() == 42\\n\"\n"
          "\"  f.gcmeta = not pcall(setmetatable, {}, {__gc = print})\\n\"\n"
          "\"  f.meta = getmetatable(m) == 'locked'\\n\"\n"
          "\"  local ok, e = pcall(function() return io.open('/etc/passwd') end)\\n\"\n"
          "\"  f.ioerr = not ok and e:find('io') ~= nil\\n\"\n"
          "\"  return Metric('sandbox', {}, f, 1)\\n\"\n"
          "\"end\\n\""),
      "sandbox bytecode=true,debug=true,dofile=true,dump=true,gc=true,gcmeta=true,io=true,"
      "ioerr=true,loadfile=true,meta=true,os=true,package=true,require=true,text=true 1\n"
      "sandbox bytecode=true,debug=true,dofile=true,dump=true,gc=true,gcmeta=true,io=true,"
      "ioerr=true,loadfile=true,meta=true,os=true,package=true,require=true,text=true 1\n");
}
END_TEST

START_TEST(sandbox_escape_is_an_error) {
  check_failure(LUA("\"function process(m) os.execute('touch /tmp/x') return m end\""), AS_IS,
                "/tower.conf:4: attempt to index a nil value (global 'os') (metric \"");
  check_failure(LUA("\"function process(m) require('io') return m end\""), AS_IS,
                "/tower.conf:4: attempt to call a nil value (global 'require')");
  check_failure(LUA("\"function process(m) return load(string.dump(process))(m) end\""), AS_IS,
                "attempt to call a nil value (field 'dump')");
}
END_TEST

/* ---- configuration errors ------------------------------------------------- */

/* init fails for `procs` and the log says `what`. */
static void check_init_error(const char *procs, const char *what) {
  char *c = config(procs);
  char *errors = NULL;
  twi_pipeline *pl = th_build(c, TWI_ONCE, &errors);
  ck_assert_msg(pl != NULL, "rejected at build: %s", errors ? errors : "?");
  free(errors);
  ck_assert_int_ne(twi_pipeline_init(pl), 0);
  th_free(pl);
  free(c);
  char *log = read_log();
  ck_assert_msg(strstr(log, what) && strstr(log, "[processors.lua]"), "want \"%s\" in:\n%s", what,
                log);
  free(log);
}

START_TEST(syntax_error_inline) {
  /* the config line of the setting, and the Lua line within the source */
  check_init_error(LUA("\"function process(m)\\n\"\n"
                       "\"  return m +\\n\"\n"
                       "\"end\\n\""),
                   "[processors.lua] /");
  check_init_error(LUA("\"function process(m)\\n\"\n"
                       "\"  return m +\\n\"\n"
                       "\"end\\n\""),
                   "/tower.conf:4: /");
  check_init_error(LUA("\"function process(m)\\n\"\n"
                       "\"  return m +\\n\"\n"
                       "\"end\\n\""),
                   "/tower.conf:6: unexpected symbol near 'end'");
}
END_TEST

START_TEST(syntax_error_in_file) {
  char *path = th_fmt("%s/bad.lua", dir);
  ck_assert_int_eq(th_write_file(path, "function process(m)\n  local = 1\nend\n"), 0);
  char *block = th_fmt("{ plugin = \"lua\"; script = \"%s\"; }", path);
  char *want = th_fmt("bad.lua:2: <name> expected near '='");
  check_init_error(block, want);
  free(want);
  free(block);
  free(path);
}
END_TEST

START_TEST(script_problems) {
  check_init_error(LUA("\"function apply(m) return m end\""),
                   "the script defines no function process(metric)");
  check_init_error("{ plugin = \"lua\"; }", "give either source (the script inline) or script");
  check_init_error("{ plugin = \"lua\"; source = \"x = 1\"; script = \"/x.lua\"; }",
                   "give either source (the script inline) or script (a file), not both");
  check_init_error("{ plugin = \"lua\"; script = \"/nonexistent/x.lua\"; }",
                   "cannot open /nonexistent/x.lua");
  check_init_error("{ plugin = \"lua\"; max_instructions = 1000; source = \"while true do end\"; }",
                   "the call ran more than 1000 Lua instructions");
}
END_TEST

/* The real binary: --config-check exits 1 and names the script's file:line. */
START_TEST(config_check_names_file_and_line) {
  const char *tower = getenv("TOWER");
  ck_assert_msg(tower != NULL, "TOWER is not set (run through make check)");
  char *script = th_fmt("%s/broken.lua", dir);
  ck_assert_int_eq(th_write_file(script, "function process(m)\n  return m\n\nedn\n"), 0);
  char *conf = th_fmt("%s/check.conf", dir);
  char *text = th_fmt("inputs = ( { plugin = \"lines\"; lines = [\"a v=1\"]; } );\n"
                      "processors = ( { plugin = \"lua\"; script = \"%s\"; } );\n"
                      "outputs = ( { plugin = \"record\"; path = \"%s/out.lp\"; } );\n",
                      script, dir);
  ck_assert_int_eq(th_write_file(conf, text), 0);
  char *cmd = th_fmt("'%s' --config '%s' --config-check 2>&1", tower, conf);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  char out[8192];
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  int status = pclose(p);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d: %s", status, out);
  ck_assert_msg(strstr(out, "[processors.lua] /") && strstr(out, "/check.conf:2: /") &&
                    strstr(out, "/broken.lua:4: 'end' expected (to close 'function' at line 1) "
                                "near 'edn'"),
                "%s", out);
  free(cmd);
  free(text);
  free(conf);
  free(script);
}
END_TEST

int main(void) {
  Suite *s = suite_create("processors.lua");
  TCase *t = tcase_create("transform");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, baseline_passes_unchanged);
  tcase_add_test(t, rename_field_and_scale);
  tcase_add_test(t, convert_string_and_types);
  tcase_add_test(t, iterate_tags_and_fields);
  tcase_add_test(t, drop_with_nil);
  tcase_add_test(t, fan_out);
  tcase_add_test(t, state_across_calls);
  tcase_add_test(t, script_file);
  tcase_add_test(t, print_logs);
  suite_add_tcase(s, t);
  TCase *f = tcase_create("failures");
  tcase_add_checked_fixture(f, setup, teardown);
  tcase_add_test(f, runtime_error_passes_unchanged);
  tcase_add_test(f, runtime_error_on_error_drop);
  tcase_add_test(f, runaway_loop_is_aborted);
  tcase_add_test(f, runaway_loop_cannot_catch_the_abort);
  tcase_add_test(f, memory_limit);
  tcase_add_test(f, bad_result);
  tcase_add_test(f, bad_values);
  tcase_add_test(f, kept_handle_is_dead);
  suite_add_tcase(s, f);
  TCase *b = tcase_create("sandbox");
  tcase_add_checked_fixture(b, setup, teardown);
  tcase_add_test(b, sandbox_has_no_escape);
  tcase_add_test(b, sandbox_escape_is_an_error);
  suite_add_tcase(s, b);
  TCase *e = tcase_create("config errors");
  tcase_add_checked_fixture(e, setup, teardown);
  tcase_add_test(e, syntax_error_inline);
  tcase_add_test(e, syntax_error_in_file);
  tcase_add_test(e, script_problems);
  tcase_add_test(e, config_check_names_file_and_line);
  suite_add_tcase(s, e);
  return check_run(s);
}
