/* tower SDK: the opaque handles, declared once for every header.
 * Their contents are private to libtower; use the accessor functions. */
#ifndef TOWER_TYPES_H
#define TOWER_TYPES_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tower_metric tower_metric;         /* metric.h */
typedef struct tower_ctx tower_ctx;               /* plugin.h: an instance's handle */
typedef struct tower_acc tower_acc;               /* plugin.h: where metrics go */
typedef struct tower_batch tower_batch;           /* plugin.h: an output's batch */
typedef struct tower_config tower_config;         /* config.h: a validated block */
typedef struct tower_setting tower_setting;       /* config.h: a raw setting */
typedef struct tower_buf tower_buf;               /* buf.h */
typedef struct tower_parser tower_parser;         /* format.h */
typedef struct tower_serializer tower_serializer; /* format.h */
typedef struct tower_globs tower_globs;           /* glob.h */

#ifdef __cplusplus
}
#endif

#endif
