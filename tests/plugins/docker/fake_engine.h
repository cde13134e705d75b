/* A fake Docker Engine for tests and benchmarks: an HTTP/1.1 server on a
 * unix socket, in its own thread, answering GET requests from a route
 * table (exact path, query ignored) with canned bodies. It keeps
 * connections alive as the daemon does, counts requests and the peak of
 * concurrent connections, and can misbehave on demand: never answer,
 * answer late, or answer with garbage. */
#ifndef TOWER_TEST_FAKE_ENGINE_H
#define TOWER_TEST_FAKE_ENGINE_H

#include <stddef.h>

typedef struct fake_engine fake_engine;

typedef enum fe_mode {
  FE_NORMAL = 0, /* answer from the routes (404 {"message": ...} otherwise) */
  FE_SILENT,     /* accept and read requests, never answer */
} fe_mode;

/* Listens on `path` (removed first) and starts the server thread. NULL on
 * failure. */
fake_engine *fe_start(const char *path);
/* Stops the thread, closes every connection, removes the socket. */
void fe_stop(fake_engine *fe);

/* Answers GET `path` with `status` and `body` (copied). A later route for
 * the same path replaces the earlier one. Thread-safe. */
void fe_route(fake_engine *fe, const char *path, int status, const char *body);
/* Same with the body read from a file (the test fails without it). */
void fe_route_file(fake_engine *fe, const char *path, int status, const char *file);
/* Answers with a body that is not HTTP at all (the connection is then
 * closed). */
void fe_route_raw(fake_engine *fe, const char *path, const char *raw);
/* Never answers GET `path` (the connection stays open). */
void fe_route_hang(fake_engine *fe, const char *path);
void fe_set_mode(fake_engine *fe, fe_mode mode);
/* Delays every answer by `ms` milliseconds. */
void fe_set_delay(fake_engine *fe, unsigned ms);

/* Requests received, and the most connections open at once. */
unsigned fe_requests(fake_engine *fe);
unsigned fe_peak_connections(fake_engine *fe);
unsigned fe_open_connections(fake_engine *fe);
/* The request targets received so far ("/v1.41/info\n..."), malloc'd. */
char *fe_log(fake_engine *fe);

/* The whole file, malloc'd (NULL when unreadable). */
char *fe_read_file(const char *path, size_t *len);

#endif
