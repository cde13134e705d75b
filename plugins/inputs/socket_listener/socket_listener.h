/* inputs.socket_listener internals, shared by its files; private to the
 * plugin:
 *   socket_listener.c  options, init/destroy, start/stop
 *   sl_addr.c          service_address: parsing, the listening socket
 *   sl_tls.c           TLS over stream sockets (GnuTLS, non-blocking)
 *   sl_loop.c          the event loop thread (epoll): accept, deadlines,
 *                      commits
 *   sl_conn.c          one stream connection: reading, inflating, framing
 *                      lines, parsing
 *   sl_dgram.c         datagrams (udp, unixgram)
 *
 * One thread serves the listener and every connection (epoll, level
 * triggered, non-blocking sockets). Each ready socket gets one read of at
 * most SL_READ_SIZE bytes per turn of the loop, so a fast client cannot
 * starve the others and a slow one never blocks anything: its partial line
 * waits in its own buffer (at most max_line_size bytes).
 */
#ifndef TOWER_SOCKET_LISTENER_H
#define TOWER_SOCKET_LISTENER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <tower/tower.h>

/* Bytes read from one socket per turn of the loop; also the most a
 * datagram may hold (a UDP datagram carries at most 65507 bytes). */
#define SL_READ_SIZE 65536u
/* Datagrams read from the datagram socket per turn of the loop. */
#define SL_DGRAMS_PER_TURN 64
/* Metrics added before the loop commits them, even mid-turn. */
#define SL_COMMIT_BATCH 4096u
/* A TLS handshake must end this long after the accept (or read_timeout,
 * when shorter): a client that never finishes one holds a socket and a
 * TLS session otherwise. */
#define SL_HANDSHAKE_NS (10LL * 1000000000LL)
/* Accepting pauses this long when the process is out of file descriptors
 * (the pending connection would wake the loop again at once). */
#define SL_ACCEPT_PAUSE_NS (100LL * 1000000LL)

/* ---- the address (sl_addr.c) ---------------------------------------- */

typedef struct sl_addr {
  char scheme[12]; /* as written: tcp, tcp4, udp6, unix, unixgram... */
  int family;      /* AF_INET, AF_INET6, AF_UNIX */
  int socktype;    /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
  bool stream;     /* connections (tcp, unix, unixpacket) */
  bool dual_stack; /* tcp:// or udp:// on any address: IPv6 and IPv4 */
  bool v6only;     /* tcp6://, udp6:// */
  bool abstract;   /* unix://@name: Linux's abstract namespace */
  struct sockaddr_storage sa;
  socklen_t salen;
  char path[108]; /* unix: the socket's path ("" for abstract) */
} sl_addr;

/* Parses `text` ("tcp://:8094", "udp4://127.0.0.1:8125",
 * "tcp6://[::1]:8094", "unix:///run/tower.sock", "unixgram://@name") and
 * resolves its host and port (names too, once). 0, or -EINVAL with the
 * reason in why[len]. */
int sl_addr_parse(const char *text, sl_addr *out, char *why, size_t len);

/* The bound address of `fd` for log lines: "tcp://127.0.0.1:8094",
 * "unix:///run/tower.sock". */
void sl_addr_describe(const sl_addr *a, int fd, char *out, size_t len);

/* ---- TLS (sl_tls.c) -------------------------------------------------- */

typedef struct sl_tls sl_tls;
typedef struct sl_conn sl_conn;

/* Loads tls_cert, tls_key, tls_allowed_cacerts and tls_min_version from
 * cfg; *out stays NULL when TLS is not configured. 0, or a negative errno
 * after reporting the option at fault. */
int sl_tls_load(const tower_config *cfg, sl_tls **out);
void sl_tls_free(sl_tls *t);
/* "TLS", "TLS with client certificates" for log lines. */
const char *sl_tls_describe(const sl_tls *t);

/* ---- state ----------------------------------------------------------- */

typedef enum sl_encoding { SL_IDENTITY = 0, SL_GZIP, SL_ZLIB } sl_encoding;

/* A doubly linked list of connections, oldest first. */
typedef struct sl_list {
  sl_conn *head, *tail;
} sl_list;

typedef struct sl_state {
  tower_ctx *ctx;
  const tower_config *cfg;

  /* options */
  const char *address; /* service_address as written */
  sl_addr addr;
  size_t max_conns;      /* 0: no limit */
  int64_t read_timeout;  /* ns; 0: none */
  bool keepalive_set;    /* keep_alive_period written */
  int64_t keepalive;     /* ns; 0: off */
  uint64_t rcvbuf;       /* SO_RCVBUF; 0: the system's */
  bool mode_set;         /* socket_mode written */
  mode_t mode;           /* socket_mode */
  sl_encoding encoding;  /* content_encoding */
  uint64_t max_inflated; /* max_decompression_size (datagrams) */
  size_t max_line;       /* max_line_size (streams) */
  bool per_message;      /* json, value: one document per line/datagram */
  const char *data_format;
  sl_tls *tls; /* NULL: plain */

  /* the listening (or datagram) socket, from start to stop */
  int lfd;
  char where[160]; /* "tcp://127.0.0.1:8094" */
  dev_t sock_dev;  /* the unix socket file we made, to remove only it */
  ino_t sock_ino;

  /* parses datagrams, and lines of per_message formats */
  tower_parser *msg_parser;
  uint64_t msg_source; /* connection id msg_parser's source names; 0: the listener */
  uint64_t next_id;

  /* the loop */
  tower_acc *acc;
  int ep, wake;
  pthread_t thread;
  bool thread_started;
  atomic_bool stop;
  char *rbuf;                       /* SL_READ_SIZE (+1 for a datagram's size check) */
  char *zbuf;                       /* SL_READ_SIZE: inflated bytes */
  void *dgram_z;                    /* z_stream of datagrams (content_encoding) */
  sl_list idle;                     /* connections by last complete line */
  sl_list handshaking;              /* TLS connections by accept time */
  sl_conn *ready_head, *ready_tail; /* bytes waiting in user space (TLS, zlib) */
  sl_conn *dead;                    /* closed this turn, freed at its end */
  int64_t now;                      /* mono ns at the start of the turn */
  uint64_t turn;                    /* turns of the loop so far */
  size_t nconns;
  int64_t accept_resume; /* mono ns; 0: accepting */
  uint64_t uncommitted;  /* metrics added since the last commit */

  /* totals for the log line at stop */
  uint64_t connections, refused, metrics, lines_too_long;
} sl_state;

/* ---- one stream connection (sl_conn.c) -------------------------------- */

struct sl_conn {
  int fd;        /* -1 once closed */
  sl_list *list; /* the list it is on (NULL: none) */
  sl_conn *prev, *next;
  int64_t since;   /* mono ns: accept, or the last complete line */
  uint32_t events; /* epoll interest */
  void *tls;       /* gnutls_session_t; NULL: plain */
  bool handshaking;
  bool on_ready; /* on the ready list (besides `list`) */
  sl_conn *rnext, *rprev;
  uint64_t turn;        /* the turn that served it last */
  uint64_t id;          /* 1, 2, ...: names it to the shared parser */
  void *z;              /* z_stream (content_encoding); NULL: identity */
  tower_parser *parser; /* line formats: this connection's own */
  char *zin;            /* compressed input left for the next turn */
  size_t zin_len, zin_off;
  bool in_member; /* inside a gzip member (its end not seen yet) */
  char *line;     /* the partial line: bytes after the last '\n' */
  size_t line_len, line_cap;
  bool skipping; /* inside a line longer than max_line: dropped up to '\n' */
  sl_conn *dead_next;
  char peer[80]; /* "127.0.0.1:51234", "[::1]:51234", "unix" */
};

/* "127.0.0.1:51234", "[::1]:51234", "unix peer pid 123 uid 0" (a unix
 * peer has no address: the kernel tells who it is). */
void sl_peer_text(const sl_state *s, int fd, const struct sockaddr *sa, socklen_t len, char *out,
                  size_t olen);

/* A new connection on `fd` (accepted, non-blocking): TLS session, inflater,
 * parser. NULL (fd closed, reason logged) on failure. */
sl_conn *sl_conn_new(sl_state *s, int fd, const struct sockaddr *peer, socklen_t plen);
/* Serves one readiness event: handshake or one read. */
void sl_conn_ready(sl_state *s, sl_conn *c);
/* Closes the socket; `eof`: the peer ended the stream cleanly, so its last
 * unterminated line counts. The memory goes when the turn ends. */
void sl_conn_close(sl_state *s, sl_conn *c, bool eof);
void sl_conn_free(sl_conn *c);

/* Lists (sl_loop.c). */
void sl_list_push(sl_list *l, sl_conn *c);
void sl_list_remove(sl_conn *c);
/* The connection had a complete line: its read_timeout starts again. */
void sl_conn_touch(sl_state *s, sl_conn *c);
/* Changes the epoll interest of `c` to `events` (EPOLLIN / EPOLLOUT). */
void sl_conn_watch(sl_state *s, sl_conn *c, uint32_t events);
/* Decrypted bytes wait inside the TLS session: serve `c` next turn even
 * though its socket may have nothing. */
void sl_ready_add(sl_state *s, sl_conn *c);
void sl_ready_remove(sl_state *s, sl_conn *c);

/* TLS sessions (sl_tls.c). */
int sl_tls_session(sl_state *s, sl_conn *c);
/* Drives the handshake: 1 done, 0 in progress (interest set), <0 failed
 * (reported). */
int sl_tls_handshake(sl_state *s, sl_conn *c);
/* Reads decrypted bytes: >0 bytes, 0 clean end, -EAGAIN nothing yet
 * (interest set), -EPIPE cut without close_notify, other <0 failed
 * (reported). */
ssize_t sl_tls_read(sl_state *s, sl_conn *c, char *buf, size_t len);
bool sl_tls_pending(const sl_conn *c);
void sl_tls_end(sl_conn *c);

/* Hands metrics to the accumulator (the parsers' sink); commits every
 * SL_COMMIT_BATCH. */
int sl_sink(void *state, tower_metric *m);
/* Commits what was added, if anything. */
void sl_commit(sl_state *s);
/* Reports `before` -> now parse errors of `p` as one counted error naming
 * `from`. */
void sl_parse_errors(sl_state *s, const tower_parser *p, uint64_t before, const char *from);

/* ---- datagrams (sl_dgram.c) ------------------------------------------ */

/* Reads up to SL_DGRAMS_PER_TURN datagrams and parses each. */
void sl_dgram_ready(sl_state *s);
int sl_dgram_setup(sl_state *s);
void sl_dgram_teardown(sl_state *s);

/* Inflaters for content_encoding (sl_dgram.c). */
void *sl_inflater_new(sl_encoding e);
void sl_inflater_free(void *z);

/* ---- the loop (sl_loop.c) -------------------------------------------- */

void *sl_loop_main(void *arg);

/* ---- the listening socket (sl_addr.c) -------------------------------- */

/* Creates, binds (and for streams listens on) the socket of s->addr into
 * s->lfd, with socket_mode and read_buffer_size. 0 or a negative errno
 * after logging why. */
int sl_listen(sl_state *s);
/* Closes it; removes the unix socket file if it is still the one made. */
void sl_unlisten(sl_state *s);
/* Socket options of an accepted connection (keep_alive_period). */
void sl_tune_accepted(sl_state *s, int fd);

#endif
