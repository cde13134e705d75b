/* The engine-wide answers: /version (which API version to speak), /info
 * (the `docker` measurement and the engine tags) and /containers/json
 * (which containers this gather looks at). Pure functions of parsed JSON;
 * the tests call them directly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

/* ---- /version ------------------------------------------------------------- */

int docker_parse_api(const char *text, unsigned *minor) {
  if (!text || strncmp(text, "1.", 2) != 0)
    return -EINVAL;
  char *end;
  unsigned long m = strtoul(text + 2, &end, 10);
  if (end == text + 2 || *end || m > 1000)
    return -EINVAL;
  *minor = (unsigned)m;
  return 0;
}

void docker_set_api(docker_engine *e, unsigned minor) {
  e->api_minor = minor;
  snprintf(e->version_prefix, sizeof e->version_prefix, "/v1.%u", minor);
}

static const char *str_member(const json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

/* The component named `name` of a /version answer, or NULL. */
static const json_t *component(const json_t *v, const char *name) {
  const json_t *list = json_object_get(v, "Components");
  size_t i;
  const json_t *c;
  json_array_foreach(list, i, c) {
    const char *n = str_member(c, "Name");
    if (n && strcmp(n, name) == 0)
      return c;
  }
  return NULL;
}

int docker_parse_version(const json_t *v, docker_engine *e, char *err, size_t errlen) {
  if (!json_is_object(v)) {
    snprintf(err, errlen, "/version did not answer a JSON object");
    return -EINVAL;
  }
  e->podman = component(v, "Podman Engine") != NULL;
  /* Docker and podman both give the Docker API version at the top level;
   * very old daemons only in the Engine component. Podman's own component
   * carries its libpod API version ("4.3.1"), which must not be used. */
  const char *api = str_member(v, "ApiVersion");
  const json_t *engine = component(v, "Engine");
  if (!api && engine)
    api = str_member(json_object_get(engine, "Details"), "ApiVersion");
  unsigned server;
  if (docker_parse_api(api, &server)) {
    snprintf(err, errlen, "/version has no Docker API version (ApiVersion = %s%s%s)",
             api ? "\"" : "", api ? api : "missing", api ? "\"" : "");
    return -EINVAL;
  }
  unsigned use = server < DOCKER_API_MAX_MINOR ? server : DOCKER_API_MAX_MINOR, min;
  /* A daemon that no longer speaks our newest version: speak its oldest
   * (the schema only ever grows the fields read here). */
  if (docker_parse_api(str_member(v, "MinAPIVersion"), &min) == 0 && min > use)
    use = min;
  docker_set_api(e, use);
  return 0;
}

/* ---- /info ------------------------------------------------------------------ */

static int replace_string(char **dst, const char *src) {
  if (!src)
    return 0;
  if (*dst && strcmp(*dst, src) == 0)
    return 0;
  char *copy = strdup(src);
  if (!copy)
    return -ENOMEM;
  free(*dst);
  *dst = copy;
  return 0;
}

/* Engine tag `key` = `value`, when there is a value (tower refuses empty
 * tags; Telegraf would write an empty one, which line protocol drops). */
static int add_tag(tower_metric *m, const char *key, const char *value) {
  return value && *value ? tower_metric_add_tag(m, key, value) : 0;
}

int docker_emit_info(const json_t *info, docker_engine *e, tower_sink_fn sink, void *sink_ctx) {
  static const struct {
    const char *field, *key;
  } map[] = {
      {"n_cpus", "NCPU"},
      {"n_used_file_descriptors", "NFd"},
      {"n_containers", "Containers"},
      {"n_containers_running", "ContainersRunning"},
      {"n_containers_stopped", "ContainersStopped"},
      {"n_containers_paused", "ContainersPaused"},
      {"n_images", "Images"},
      {"n_goroutines", "NGoroutines"},
      {"n_listener_events", "NEventsListener"},
      {"memory_total", "MemTotal"},
  };
  if (!json_is_object(info))
    return -EINVAL;
  if (replace_string(&e->name, str_member(info, "Name")) ||
      replace_string(&e->server_version, str_member(info, "ServerVersion")))
    return -ENOMEM;
  tower_metric *m = tower_metric_new("docker", TOWER_TIME_UNSET);
  if (!m)
    return -ENOMEM;
  int rc = add_tag(m, "engine_host", e->name);
  rc = rc ? rc : add_tag(m, "server_version", e->server_version);
  /* A field the daemon does not send (podman has no NGoroutines before
   * 4.x, say) is left out rather than reported as 0. */
  for (size_t i = 0; rc == 0 && i < sizeof map / sizeof map[0]; i++) {
    const json_t *v = json_object_get(info, map[i].key);
    if (json_is_integer(v))
      rc = tower_metric_add_int(m, map[i].field, (int64_t)json_integer_value(v));
  }
  if (rc == 0 && tower_metric_field_count(m) == 0) {
    tower_metric_free(m);
    return 0;
  }
  if (rc) {
    tower_metric_free(m);
    return rc;
  }
  return sink(sink_ctx, m);
}

/* ---- /containers/json ---------------------------------------------------------- */

/* Telegraf's include/exclude filter: no include list takes everything. */
static bool pass(const tower_globs *inc, const tower_globs *exc, const char *s) {
  return (!inc || tower_globs_match(inc, s)) && !(exc && tower_globs_match(exc, s));
}

bool docker_state_wanted(const docker_filters *f, const char *state) {
  return pass(f->state_include, f->state_exclude, state ? state : "");
}

bool docker_wants_stopped(const docker_filters *f) {
  static const char *const stopped[] = {"created", "restarting", "removing", "exited", "dead"};
  for (size_t i = 0; i < sizeof stopped / sizeof stopped[0]; i++)
    if (docker_state_wanted(f, stopped[i]))
      return true;
  return false;
}

/* Telegraf's name: the first of Names that is not a link ("/web/db" names
 * container db as seen from web); NULL when there is none. */
static const char *container_name(const json_t *names) {
  size_t i;
  const json_t *n;
  json_array_foreach(names, i, n) {
    const char *s = json_string_value(n);
    if (!s)
      continue;
    if (*s == '/')
      s++;
    if (*s && !strchr(s, '/'))
      return s;
  }
  return NULL;
}

int docker_list_parse(const json_t *list, const docker_filters *f, docker_ctr **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!json_is_array(list))
    return -EINVAL;
  size_t len = json_array_size(list);
  docker_ctr *v = calloc(len ? len : 1, sizeof *v);
  if (!v)
    return -ENOMEM;
  size_t k = 0, i;
  const json_t *o;
  json_array_foreach(list, i, o) {
    docker_ctr c = {
        .id = str_member(o, "Id"),
        .name = container_name(json_object_get(o, "Names")),
        .image = str_member(o, "Image"),
        .state = str_member(o, "State"),
        .labels = json_object_get(o, "Labels"),
    };
    if (!c.id || !*c.id || !c.name)
      continue;
    if (!pass(f->name_include, f->name_exclude, c.name) || !docker_state_wanted(f, c.state))
      continue;
    if (!c.image)
      c.image = "";
    v[k++] = c;
  }
  *out = v;
  *n = k;
  return 0;
}

const char *docker_image_split(const char *image, size_t *name_len) {
  /* A first component with '.' or ':' (or "localhost") is a registry; its
   * port must not be taken for the tag. */
  const char *rest = image, *slash = strchr(image, '/');
  if (slash) {
    size_t d = (size_t)(slash - image);
    bool registry = memchr(image, '.', d) || memchr(image, ':', d) ||
                    (d == 9 && strncmp(image, "localhost", 9) == 0);
    if (registry)
      rest = slash + 1;
  }
  const char *colon = strrchr(rest, ':');
  if (!colon) {
    *name_len = strlen(image);
    return "unknown";
  }
  *name_len = (size_t)(colon - image);
  return colon + 1;
}
