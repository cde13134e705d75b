/* inputs.docker under --config-check: what can be known of the endpoint
 * without sending a request.
 *   - A unix socket must be a socket the checking user may write (connect(2)
 *     needs that), and have a listener: the check connects and closes at
 *     once. That holds nothing (the daemon sees a client that leaves).
 *     A socket that is missing or has no listener is a warning, not an
 *     error: the daemon may simply not run yet (boot order, a check on a
 *     build host), the input recovers once it does, and the outputs treat
 *     a server that is down the same way. A path that is not a socket, or
 *     that the user may not reach, is a configuration error.
 *   - Over TCP with TLS, the tls_* files (or DOCKER_CERT_PATH's ca.pem,
 *     cert.pem and key.pem for endpoint = "ENV") must be readable PEM of
 *     the right kind. The daemon is not contacted: a network check belongs
 *     to the first gather, whose error names the endpoint. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../common/check/path_check.h"
#include "../../common/check/pem_check.h"
#include "docker.h"

static const char *socket_hint(int rc, const char *why) {
  switch (rc) {
  case -ENOENT:
    return "is the Docker daemon running? If it listens elsewhere, set endpoint to its socket "
           "(rootless Docker: unix:///run/user/UID/docker.sock; podman: "
           "unix:///run/podman/podman.sock)";
  case -EACCES:
    return strstr(why, "not writable")
               ? "add the user tower runs as to the socket's group (usermod -aG docker USER), "
                 "or run tower as a user who may connect"
               : "let the user tower runs as search that directory, or run tower as a user who "
                 "may";
  case -ENOTSOCK:
    return "set endpoint to the daemon's socket";
  default:
    return "fix endpoint";
  }
}

/* Connects to the socket and closes at once. 0, or -errno. A full accept
 * queue (EAGAIN) still means something listens. */
static int try_connect(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return -ENAMETOOLONG;
  memcpy(sa.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : -errno;
  close(fd);
  return rc == -EAGAIN || rc == -EINPROGRESS ? 0 : rc;
}

static int check_socket(tower_ctx *ctx, const tower_config *cfg, const char *url) {
  const tower_setting *at = tower_config_setting(cfg, "endpoint");
  const char *path = url + strlen("unix://");
  char why[PATH_WHY_MAX];
  int rc = path_check(path, PATH_SOCKET, W_OK, why, sizeof why);
  if (rc == -ENOENT) {
    tower_warn(ctx, "endpoint %s: %s; %s (each gather reports an error until it appears)", url, why,
               socket_hint(rc, why));
    return 0;
  }
  if (rc)
    return tower_config_error(cfg, at, "endpoint %s: %s; %s", url, why, socket_hint(rc, why));
  rc = try_connect(path);
  if (rc == -ECONNREFUSED) {
    tower_warn(ctx,
               "endpoint %s: nothing listens on %s (left behind by a daemon that stopped?); start "
               "the Docker daemon, or set endpoint to the socket it listens on",
               url, path);
    return 0;
  }
  if (rc == -ENAMETOOLONG)
    return tower_config_error(cfg, at,
                              "endpoint %s: the socket path is longer than %zu bytes, the most a "
                              "unix socket address holds; use a shorter path (a symbolic link)",
                              url, sizeof((struct sockaddr_un *)0)->sun_path - 1);
  if (rc)
    return tower_config_error(cfg, at, "endpoint %s: cannot connect to %s: %s", url, path,
                              strerror(-rc));
  return 0;
}

/* One TLS file: `option` when the configuration sets it, else the file
 * of DOCKER_CERT_PATH (endpoint = "ENV"). */
static int check_tls_file(const tower_config *cfg, const char *option, const char *path,
                          pem_want want) {
  if (!path)
    return 0;
  bool own = tower_config_string(cfg, option) != NULL;
  const tower_setting *at = tower_config_setting(cfg, own ? option : "endpoint");
  char why[PATH_WHY_MAX];
  int rc = path_check(path, PATH_FILE, R_OK, why, sizeof why);
  if (rc == 0)
    rc = pem_check_file(path, want, why, sizeof why);
  if (rc == 0)
    return 0;
  const char *hint = rc == -EINVAL ? (want == PEM_KEY ? "give the PEM file of the private key"
                                                      : "give a PEM file of certificates")
                                   : path_check_hint(rc);
  return tower_config_error(cfg, at, "%s \"%s\"%s: %s; %s", option, path,
                            own ? "" : " (from DOCKER_CERT_PATH)", why, hint);
}

int docker_check(tower_ctx *ctx, const tower_config *cfg, const docker_endpoint *ep) {
  if (strncmp(ep->url, "unix://", 7) == 0)
    return check_socket(ctx, cfg, ep->url); /* tls_* are ignored there (init warns) */
  if (!ep->tls)
    return 0;
  int rc = check_tls_file(cfg, "tls_ca", ep->tls_ca, PEM_CERTS);
  int rc2 = check_tls_file(cfg, "tls_cert", ep->tls_cert, PEM_CERTS);
  int rc3 = check_tls_file(cfg, "tls_key", ep->tls_key, PEM_KEY);
  return rc ? rc : rc2 ? rc2 : rc3;
}
