/* The agent: load, check, run, reload and stop a pipeline.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwaitinfo(), so handlers never run in the middle of plugin
 * code: SIGTERM/SIGINT stop with a final flush bounded by
 * agent.shutdown_timeout, SIGHUP reloads, SIGUSR1 flushes every output now.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "interrupt.h"
#include "log_internal.h"
#include "notify.h"
#include "pidfile.h"
#include "units.h"
#include "pipeline.h"
#include "watchdog.h"

static void print_diag(const twi_diag *d) {
  if (!d->text)
    return;
  /* One log line per problem: each already carries file:line. */
  char *copy = strdup(d->text);
  if (!copy)
    return;
  char *save = NULL;
  for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    bool warning = strncmp(line, "warning: ", 9) == 0 || strstr(line, ": warning: ");
    twi_log_every(NULL, warning ? TOWER_LOG_WARN : TOWER_LOG_ERROR, "%s", line);
  }
  free(copy);
}

/* Loads and builds a pipeline; logs every problem. */
/* The first thing a new user sees when no configuration exists yet. */
static bool config_missing(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 || errno != ENOENT)
    return false;
  tower_log(NULL, TOWER_LOG_ERROR,
            "no configuration file at %s: write one with `tower sample-config > %s` (or copy %s "
            "and edit it), or give another with --config FILE",
            path, path, TOWER_SAMPLE_CONFIG);
  return true;
}

static twi_pipeline *load(const twi_agent_opts *o, twi_mode mode) {
  if (config_missing(o->config_path))
    return NULL;
  char err[2048];
  twi_conf *conf =
      twi_conf_load_many(o->config_path, o->extra_configs, o->config_dir, err, sizeof err);
  if (!conf) {
    tower_log(NULL, TOWER_LOG_ERROR, "%s", err);
    return NULL;
  }
  twi_diag d = {0};
  twi_pipeline *pl = twi_pipeline_build(conf, o->plugin_dir, mode, &d);
  twi_conf_unref(conf);
  print_diag(&d);
  if (!pl)
    tower_log(NULL, TOWER_LOG_ERROR, "%s: %u error%s in the configuration", o->config_path,
              d.errors, twi_s(d.errors));
  twi_diag_free(&d);
  return pl;
}

static void apply_log_settings(const twi_agent_opts *o, const twi_pipeline *pl) {
  twi_log_set_level(o->log_level >= 0 ? (tower_log_level)o->log_level
                                      : (tower_log_level)pl->set.log_level);
  if (pl->set.logfile && *pl->set.logfile) {
    int rc = twi_log_set_file(pl->set.logfile);
    if (rc)
      tower_log(NULL, TOWER_LOG_ERROR, "cannot open logfile %s: %s; logging to stderr",
                pl->set.logfile, strerror(-rc));
  }
}

/* One line per kind naming its instances; a setting that differs from the
 * agent's is shown beside the instance. */
static void log_instances(const char *what, tower_ctx **list, size_t n, const twi_settings *set) {
  char names[2048] = "", every[32];
  size_t len = 0;
  for (size_t i = 0; i < n && len + 96 < sizeof names; i++) {
    const tower_ctx *c = list[i];
    const char *name = c->id + strcspn(c->id, ".") + 1;
    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", name);
    int64_t own = c->kind == TOWER_INPUT ? c->interval : c->flush_interval;
    int64_t agent = c->kind == TOWER_INPUT ? set->interval : set->flush_interval;
    if (c->kind == TOWER_AGGREGATOR) { /* no agent default to differ from */
      twi_fmt_duration(every, sizeof every, c->interval);
      len += (size_t)snprintf(names + len, sizeof names - len, " (period %s)", every);
    } else if (c->kind != TOWER_PROCESSOR && own != agent) {
      twi_fmt_duration(every, sizeof every, own);
      len += (size_t)snprintf(names + len, sizeof names - len, " (%s every %s)",
                              c->kind == TOWER_INPUT ? "gathers" : "flushes", every);
    }
  }
  tower_log(NULL, TOWER_LOG_INFO, "%zu %s%s: %s", n, what, n == 1 ? "" : "s", n ? names : "-");
}

static void log_pipeline(const twi_agent_opts *o, const twi_pipeline *pl) {
  const twi_settings *set = &pl->set;
  char interval[32], flush[32];
  twi_fmt_duration(interval, sizeof interval, set->interval);
  twi_fmt_duration(flush, sizeof flush, set->flush_interval);
  char files[2048];
  size_t len = 0, n = twi_conf_files(pl->conf);
  for (size_t i = 0; i < n && len + 8 < sizeof files; i++)
    len += (size_t)snprintf(files + len, sizeof files - len, "%s%s", i ? ", " : "",
                            twi_conf_file_path(pl->conf, i));
  tower_log(NULL, TOWER_LOG_INFO, "configuration: %s", n ? files : o->config_path);
  tower_log(NULL, TOWER_LOG_INFO,
            "agent: interval %s, flush_interval %s, %s%s%s, metric_batch_size %lld, "
            "metric_buffer_limit %lld",
            interval, flush, set->hostname ? "hostname \"" : "no host tag (omit_hostname)",
            set->hostname ? set->hostname : "", set->hostname ? "\"" : "",
            (long long)set->batch_size, (long long)set->buffer_limit);
  log_instances("input", pl->inputs, pl->ninputs, set);
  log_instances("processor", pl->processors, pl->nprocessors, set);
  if (pl->naggregators)
    log_instances("aggregator", pl->aggregators, pl->naggregators, set);
  log_instances("output", pl->outputs, pl->noutputs, set);
}

/* ---- --test / --once ---- */

static uint64_t gathered(const twi_pipeline *pl) {
  uint64_t n = 0;
  for (size_t i = 0; i < pl->ninputs; i++)
    n += atomic_load(&pl->inputs[i]->stats.metrics);
  return n;
}

/* Gathers every input once; service inputs run for --test-wait. Returns
 * the errors counted, and in *idle the service inputs not run at all. */
static int gather_all(const twi_agent_opts *o, twi_pipeline *pl, int *idle) {
  int errors = 0;
  for (size_t i = 0; i < pl->ninputs && !twi_interrupted(); i++) {
    tower_ctx *in = pl->inputs[i];
    if (twi_input_is_service(in) && o->test_wait <= 0) {
      tower_log(in, TOWER_LOG_WARN,
                "not run: a service input receives data while it runs, and --test-wait is 0s; "
                "add --test-wait 10s (say) to see what it receives");
      (*idle)++;
      continue;
    }
    errors += twi_input_run_once(in, pl, o->test_wait);
  }
  return errors;
}

static int run_once(const twi_agent_opts *o, twi_pipeline *pl) {
  int idle = 0;
  int errors = gather_all(o, pl, &idle);
  twi_pipeline_push_aggregators(pl); /* the run's end, as a shutdown */
  bool nothing = gathered(pl) == 0;
  if (nothing && !twi_interrupted())
    tower_log(NULL, TOWER_LOG_WARN, "nothing was gathered%s",
              idle ? ": the service inputs need --test-wait (see above)"
                   : ": the inputs returned no metrics, or the selectors dropped them");
  if (pl->mode == TWI_TEST)
    return twi_interrupted() ? twi_interrupt_status() : errors || (nothing && idle) ? 1 : 0;
  /* Interrupted or not, what was gathered is written (within the grace the
   * interrupt allows). */
  size_t unwritten = 0;
  for (size_t i = 0; i < pl->noutputs; i++) {
    size_t left = twi_output_flush_sync(pl->outputs[i]);
    if (left)
      tower_log(pl->outputs[i], TOWER_LOG_ERROR, "%zu metric%s could not be written", left,
                twi_s(left));
    unwritten += left;
  }
  return twi_interrupted() ? twi_interrupt_status() : unwritten || (nothing && idle) ? 1 : 0;
}

/* ---- daemon ---- */

/* Stops a pipeline being replaced and frees it. */
static void retire(twi_pipeline *old) {
  size_t lost = twi_pipeline_stop(old);
  if (lost)
    tower_log(NULL, TOWER_LOG_WARN, "%zu metric%s of removed or changed outputs %s lost", lost,
              twi_s(lost), lost == 1 ? "was" : "were");
  twi_pipeline_free(old);
}

/* After a reload failed half way (the old pipeline already stopped), builds
 * the previous configuration again; outputs that `failed` had kept from it
 * come back with their buffers. NULL when even that fails. */
static twi_pipeline *restore(const twi_agent_opts *o, twi_conf *conf, twi_pipeline *failed) {
  twi_diag d = {0};
  twi_pipeline *back = twi_pipeline_build(conf, o->plugin_dir, TWI_RUN, &d);
  twi_diag_free(&d);
  if (back)
    twi_pipeline_adopt(back, failed);
  twi_pipeline_free(failed);
  if (back && twi_pipeline_init(back)) {
    twi_pipeline_free(back);
    back = NULL;
  }
  return back;
}

/* The new pipeline could not initialize beside the running one: stop the
 * running one, then try again. Returns the pipeline to run (the new one,
 * or the previous configuration restored), or NULL. */
static twi_pipeline *reload_after_stop(const twi_agent_opts *o, twi_pipeline *old,
                                       twi_pipeline *pl) {
  tower_log(NULL, TOWER_LOG_WARN,
            "a plugin of the new configuration could not start beside the running one; "
            "stopping the running pipeline and trying again");
  twi_pipeline_give_back_inputs(pl, old);
  twi_conf *old_conf = twi_conf_ref(old->conf);
  retire(old);
  if (twi_pipeline_init(pl)) {
    tower_log(NULL, TOWER_LOG_ERROR,
              "reload failed (see above): restoring the previous configuration");
    pl = restore(o, old_conf, pl);
  }
  twi_conf_unref(old_conf);
  return pl;
}

/* Replaces *cur with a pipeline built from the file as it is now. An
 * invalid file changes nothing. Unchanged inputs and outputs carry on (see
 * reload.c); the new instances start while the old ones run, and one that
 * cannot (it needs a port or lock its predecessor holds) gets a second try
 * once the old pipeline has stopped; if that fails too the previous
 * configuration is restored. Returns false when nothing can run. */
static bool reload(const twi_agent_opts *o, twi_pipeline **cur) {
  twi_pipeline *old = *cur;
  /* logrotate's postrotate sends SIGHUP: the log moves to the new file
   * first, whether or not the new configuration turns out valid. */
  apply_log_settings(o, old);
  tower_log(NULL, TOWER_LOG_INFO, "reloading %s", o->config_path);
  twi_pipeline *pl = load(o, TWI_RUN);
  if (!pl) {
    tower_log(NULL, TOWER_LOG_ERROR, "reload aborted: the running configuration stays in effect");
    return true;
  }
  twi_pipeline_adopt(pl, old);
  if (twi_pipeline_init(pl) == 0) {
    twi_pipeline_hand_over(pl);
    retire(old);
  } else if (!(pl = reload_after_stop(o, old, pl))) {
    tower_log(NULL, TOWER_LOG_ERROR, "the previous configuration cannot start again; exiting");
    *cur = NULL;
    return false;
  }
  apply_log_settings(o, pl);
  *cur = pl;
  if (twi_pipeline_start(pl))
    tower_log(NULL, TOWER_LOG_ERROR, "some plugins did not start after the reload (see above)");
  log_pipeline(o, pl);
  return true;
}

/* The unit's status line (systemctl status) while the agent runs. */
static void notify_ready(const twi_pipeline *pl, const char *how) {
  char status[160];
  snprintf(status, sizeof status, "%s: %zu input%s, %zu output%s", how, pl->ninputs,
           twi_s(pl->ninputs), pl->noutputs, twi_s(pl->noutputs));
  twi_notify_ready(status);
}

/* How long a reload may keep the agent loop from its signals before the
 * watchdog calls it hung: stopping the old pipeline takes at most 1.5
 * shutdown_timeout (pipeline.c), and the new plugins' init gets 30s on top
 * (connections with their own timeouts). */
static int64_t reload_limit(const twi_pipeline *pl) {
  return 2 * pl->set.shutdown_timeout + 30 * 1000000000LL;
}

static int serve(const twi_agent_opts *o, twi_pipeline *pl, const sigset_t *sigs) {
  if (twi_pipeline_start(pl)) {
    twi_pipeline_stop(pl);
    twi_pipeline_free(pl);
    return 1;
  }
  tower_log(NULL, TOWER_LOG_INFO, "tower %s started (pid %d)", PACKAGE_VERSION, (int)getpid());
  log_pipeline(o, pl);
  notify_ready(pl, "running");
  twi_watchdog *wd = twi_watchdog_start();
  twi_watchdog_running(wd, pl);
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(sigs, &si);
    if (sig == SIGHUP) {
      twi_notify_reloading("reloading the configuration");
      twi_watchdog_busy(wd, reload_limit(pl));
      if (!reload(o, &pl)) {
        twi_watchdog_stop(wd);
        return 1;
      }
      twi_watchdog_running(wd, pl);
      notify_ready(pl, "running (reloaded)");
    } else if (sig == SIGUSR1) {
      tower_log(NULL, TOWER_LOG_INFO, "SIGUSR1: flushing every output");
      twi_pipeline_flush_now(pl);
    } else if (sig == SIGTERM || sig == SIGINT) {
      tower_log(NULL, TOWER_LOG_INFO, "%s: stopping; final flush (at most %.1fs)",
                sig == SIGTERM ? "SIGTERM" : "SIGINT", (double)pl->set.shutdown_timeout / 1e9);
      break;
    }
  }
  /* systemd stops expecting pings once told the agent stops. */
  twi_notify_stopping("stopping: final flush");
  twi_watchdog_stop(wd);
  /* A requested stop is a clean exit even when an output could not take
   * everything (logged and counted above): a service manager must not see
   * a failure, and restart the agent, because InfluxDB was down. */
  size_t lost = twi_pipeline_stop(pl);
  if (lost)
    tower_log(NULL, TOWER_LOG_WARN, "%zu metric%s could not be written before exiting", lost,
              twi_s(lost));
  twi_pipeline_free(pl);
  tower_log(NULL, TOWER_LOG_INFO, "stopped");
  return 0;
}

int twi_agent_main(const twi_agent_opts *o) {
  /* Block before any thread exists so every thread inherits the mask. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGHUP);
  sigaddset(&sigs, SIGUSR1);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN); /* a closed peer is an error return, not a death */

  if (o->log_level >= 0)
    twi_log_set_level((tower_log_level)o->log_level);
  bool one_shot = o->mode != TWI_RUN || o->config_check;
  if (one_shot && twi_interrupt_watch(0))
    tower_log(NULL, TOWER_LOG_WARN, "cannot watch for SIGINT/SIGTERM; they end the run late");
  twi_pipeline *pl = load(o, o->mode);
  if (!pl)
    return twi_interrupted() ? twi_interrupt_status() : 1;
  apply_log_settings(o, pl);
  if (one_shot)
    twi_interrupt_set_pipeline(pl);
  if (o->config_check) {
    int failed = twi_pipeline_check(pl);
    twi_interrupt_set_pipeline(NULL);
    if (twi_interrupted()) {
      twi_pipeline_free(pl);
      return twi_interrupt_status();
    }
    if (failed == 0)
      printf("%s: configuration is valid (%zu input%s, %zu processor%s, %zu output%s)\n",
             o->config_path, pl->ninputs, twi_s(pl->ninputs), pl->nprocessors,
             twi_s(pl->nprocessors), pl->noutputs, twi_s(pl->noutputs));
    else
      tower_log(NULL, TOWER_LOG_ERROR, "%s: %d plugin%s refused %s configuration (see above)",
                o->config_path, failed, twi_s((unsigned)failed), failed == 1 ? "its" : "their");
    twi_pipeline_free(pl);
    return failed ? 1 : 0;
  }
  pl->test_out = stdout;
  if (o->mode != TWI_RUN)
    twi_pipeline_set_trial(pl);
  int pidfd = o->pidfile ? twi_pidfile_take(o->pidfile) : -1;
  if ((o->pidfile && pidfd < 0) || twi_pipeline_init(pl)) {
    twi_pidfile_release(o->pidfile, pidfd);
    twi_pipeline_free(pl);
    return 1;
  }
  int rc;
  if (o->mode == TWI_RUN) {
    rc = serve(o, pl, &sigs);
  } else {
    rc = run_once(o, pl);
    twi_interrupt_set_pipeline(NULL);
    twi_pipeline_free(pl);
  }
  twi_pidfile_release(o->pidfile, pidfd);
  return rc;
}
