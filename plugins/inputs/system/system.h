/* inputs.system: the instance (system.c) and what one gather reads: CPU
 * counts (system_cpus.c), logged-in users (system_users.c), load and
 * uptime (system.c). */
#ifndef TOWER_INPUTS_SYSTEM_H
#define TOWER_INPUTS_SYSTEM_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <tower/tower.h>

#include "../../common/host/host.h"

/* The groups of the `include` option (Telegraf's names). */
#define SYS_LEGACY 0x1u
#define SYS_LOAD 0x2u
#define SYS_USERS 0x4u
#define SYS_CPUS 0x8u
#define SYS_UPTIME 0x10u

/* A package of /proc/cpuinfo and its cores (system_cpus.c). */
typedef struct {
  int64_t id, cores;
} sys_package;

typedef struct {
  tower_ctx *ctx;
  unsigned include; /* SYS_* */
  char loadavg[PATH_MAX], uptime[PATH_MAX], cpuinfo[PATH_MAX], stat[PATH_MAX];
  char utmp[PATH_MAX], cpu_dir[PATH_MAX]; /* cpu_dir: <HOST_SYS>/devices/system/cpu */
  host_buf buf;                           /* the file being read */
  host_buf cpuinfo_buf;                   /* /proc/cpuinfo, kept for the physical count */
  uint64_t *cores;                        /* system_cpus.c: a bit per first CPU of a core's list */
  size_t core_words;
  sys_package *pkgs; /* system_cpus.c: when sysfs has no topology */
  size_t npkgs, pkg_cap;
} sys_state;

/* One gather's values; have_* say which could be read. */
typedef struct {
  double load[3];
  int64_t n_cpus, n_physical_cpus, n_users, n_unique_users;
  uint64_t uptime;
  bool have_load, have_cpus, have_physical, have_users, have_uptime;
} sys_reading;

/* Fills n_cpus and n_physical_cpus as gopsutil's cpu.Counts(true) and
 * cpu.Counts(false) do; have_cpus stays false (after one tower_acc_error)
 * when neither /proc/cpuinfo nor /proc/stat can be read, have_physical when
 * neither sysfs nor /proc/cpuinfo can. -ENOMEM, or 0. */
int sys_read_cpus(sys_state *s, tower_acc *acc, sys_reading *r);

/* Fills n_users and n_unique_users from utmp; have_users stays false when
 * there is no utmp (no login manager writes one), and also after one
 * tower_acc_error when it cannot be read. */
void sys_read_users(sys_state *s, tower_acc *acc, sys_reading *r);

#endif
