/* inputs.kernel: the instance (kernel.c) and the pressure stall metrics of
 * `collect = ["psi"]` (kernel_psi.c). */
#ifndef TOWER_INPUTS_KERNEL_H
#define TOWER_INPUTS_KERNEL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <tower/tower.h>

#include "../../common/host/host.h"

typedef struct {
  tower_ctx *ctx;
  bool ksm, psi; /* the `collect` option */
  char stat[PATH_MAX], entropy[PATH_MAX];
  char ksm_dir[PATH_MAX];      /* <HOST_SYS>/kernel/mm/ksm */
  char pressure_dir[PATH_MAX]; /* <HOST_PROC>/pressure */
  host_buf buf;                /* the file being read, reused */
} kernel_state;

/* Adds the "pressure" metrics of cpu, memory and io, as Telegraf's
 * inputs.kernel does with collect = ["psi"]. A file that cannot be read or
 * parsed is one tower_acc_error; the others are still reported. 0 or
 * -ENOMEM. */
int kernel_gather_psi(kernel_state *s, tower_acc *acc);

#endif
