/* tower SDK: everything a plugin needs.
 *
 *   #include <tower/tower.h>
 *
 * Build a plugin with `pkg-config --cflags --libs tower` and link it as a
 * shared object; see sdk/README.md. The headers need only the C library.
 */
#ifndef TOWER_TOWER_H
#define TOWER_TOWER_H

#include <tower/buf.h>
#include <tower/config.h>
#include <tower/format.h>
#include <tower/glob.h>
#include <tower/log.h>
#include <tower/metric.h>
#include <tower/option.h>
#include <tower/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the libtower the process runs with ("0.1.0"): a static
 * string, valid as long as the process runs. */
const char *tower_version(void);

#ifdef __cplusplus
}
#endif

#endif
