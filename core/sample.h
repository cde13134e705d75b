/* Sample configuration generated from option tables. */
#ifndef TOWER_SAMPLE_H
#define TOWER_SAMPLE_H

#include <stdbool.h>
#include <stdio.h>

#include "loader.h"

void twi_sample_header(FILE *f);
void twi_sample_agent(FILE *f);
/* One block (without a trailing comma). `active`: the block is live and
 * required options are written; else every line is commented out. */
void twi_sample_plugin(FILE *f, const twi_plugin *p, bool active);

#endif
