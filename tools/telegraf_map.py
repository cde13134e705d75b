"""How Telegraf's configuration maps onto tower's: data for tower-import-telegraf.

One table per plugin, keyed by Telegraf's kind and name:

  tower        tower's plugin name
  kind         tower's kind, when it differs from Telegraf's
  options      tower's own option names (None: not known here, every option
               is passed on and `tower --config-check` judges them); an
               option neither here, nor common, nor renamed is left out
  rename       {Telegraf's name: tower's}
  unsupported  {Telegraf's name: why, and what to use instead}; left out
  same         {Telegraf's name: value}: with that value tower behaves the
               same without the option, so it is dropped without loss
  ignored      {Telegraf's name: why}: dropped without loss, whatever the value
  set          {tower option: libconfig text} added to the block
  durations    options that are durations beyond the usual names
  rewrite      {tower option: name of a function in REWRITES}
  consumed     Telegraf options that chose the table (outputs.http's data_format)
  notes        comments written with every block of this plugin
  when         a function of the options giving the table to use, or the
               reason the plugin cannot be carried over

Sources: each plugin's README (their "Differences from Telegraf" sections)
and option table (`tower sample-config kind.name`); Telegraf's plugin
READMEs for Telegraf's names.
"""

import re

# ---- common options -----------------------------------------------------------

SELECTORS = ["alias", "log_level", "namepass", "namedrop", "namepass_separator",
             "namedrop_separator", "tagpass", "tagdrop", "fieldinclude", "fieldexclude",
             "taginclude", "tagexclude"]

# Not for processors, as in Telegraf (processors.override declares them).
RENAMES = ["name_override", "name_prefix", "name_suffix", "tags"]

COMMON_OPTIONS = {
    "inputs": SELECTORS + RENAMES + ["interval", "precision", "collection_jitter",
                                     "collection_offset"],
    "processors": SELECTORS + ["order"],
    "aggregators": SELECTORS + RENAMES + ["period", "delay", "grace", "drop_original"],
    "outputs": SELECTORS + RENAMES + ["flush_interval", "flush_jitter", "metric_batch_size",
                            "metric_buffer_limit", "buffer_strategy", "buffer_directory"],
}

# Telegraf's old selector names (deprecated there in 1.29).
COMMON_RENAMES = {"fieldpass": "fieldinclude", "fielddrop": "fieldexclude"}

COMMON_UNSUPPORTED = {
    "metricpass": "tower has no CEL expressions; use namepass/tagpass/fieldinclude, or "
                  "processors.filter rules",
    "startup_error_behavior": "tower refuses to start when a plugin cannot; there is no "
                              "retry/ignore/probe",
    "log_with_timezone": "tower logs in UTC",
}

# Options whose integer or float value Telegraf reads as seconds, beyond
# those named *_timeout, *_interval, *_jitter, *_ttl and *_period.
DURATIONS = {"interval", "precision", "timeout", "period", "delay", "grace",
             "collection_offset", "kill_grace", "keep_alive_period", "series_timeout",
             "dedup_interval", "max_write_age"}
_DURATION_SUFFIXES = ("_timeout", "_interval", "_jitter", "_ttl", "_period")


def is_duration(key, table):
    return (key in DURATIONS or key.endswith(_DURATION_SUFFIXES)
            or key in table.get("durations", ()))


# ---- the agent ----------------------------------------------------------------

# Telegraf's agent setting -> (how, argument):
#   same          the same setting (argument: tower's name when it differs)
#   duration      the same, a duration
#   log_level     true sets tower's log_level to the argument
#   default_only  (Telegraf's default, why): left out unless the default
#   per_output    set on every output (tower has it per output)
#   drop          dropped without loss (argument: why)
AGENT = {
    "interval": ("duration", None),
    "round_interval": ("same", None),
    "metric_batch_size": ("same", None),
    "metric_buffer_limit": ("same", None),
    "collection_jitter": ("duration", None),
    "collection_offset": ("duration", None),
    "flush_interval": ("duration", None),
    "flush_jitter": ("duration", None),
    "precision": ("duration", None),
    "hostname": ("same", None),
    "omit_hostname": ("same", None),
    "logfile": ("same", None),
    "debug": ("log_level", "debug"),
    "quiet": ("log_level", "error"),
    "buffer_directory": ("same", None),
    "buffer_strategy": ("per_output", None),
    "logtarget": ("drop", "tower logs to logfile, else stderr (journald reads stderr)"),
    "logformat": ("default_only", ("text", "tower writes text logs only")),
    "log_with_timezone": ("default_only", ("", "tower logs in UTC")),
    "logfile_rotation_interval": ("default_only", ("0h", "tower does not rotate its log; "
                                                   "use logrotate with copytruncate")),
    "logfile_rotation_max_size": ("default_only", ("0MB", "tower does not rotate its log; "
                                                   "use logrotate with copytruncate")),
    "logfile_rotation_max_archives": ("default_only", (5, "tower does not rotate its log; "
                                                       "use logrotate")),
    "utc": ("drop", "tower's timestamps are UTC nanoseconds"),
    "skip_processors_after_aggregators": (
        "default_only", (True, "tower never runs processors over aggregator output")),
    "snmp_translator": ("drop", "tower has no SNMP plugins"),
    "statefile": ("default_only", ("", "tower keeps no plugin state across restarts")),
    "always_include_local_tags": ("default_only", (False, "tower has no such setting")),
    "always_include_global_tags": ("default_only", (False, "tower has no such setting")),
}

# ---- plugins ----------------------------------------------------------------

_HTTP_CLIENT = ["timeout", "tls_ca", "tls_cert", "tls_key", "tls_key_pwd", "tls_server_name",
                "insecure_skip_verify", "use_system_proxy", "http_proxy_url", "http_headers",
                "username", "password", "bearer_token", "bearer_token_string"]
_HTTP_CLIENT_UNSUPPORTED = {
    "tls_enable": "tower uses TLS when the URL is https://",
    "tls_min_version": "tower uses the TLS library's minimum (TLS 1.2)",
    "tls_cipher_suites": "tower uses the TLS library's cipher suites",
    "tls_renegotiation_method": "renegotiation is never allowed",
    "idle_conn_timeout": "connections are reused by libcurl",
    "max_idle_conn": "connections are reused by libcurl",
    "max_idle_conn_per_host": "connections are reused by libcurl",
    "local_address": "not supported: bind with routing rules instead",
    "cookie_auth_url": "cookie authentication is not supported; use a bearer token or basic auth",
    "cookie_auth_method": "cookie authentication is not supported",
    "cookie_auth_username": "cookie authentication is not supported",
    "cookie_auth_password": "cookie authentication is not supported",
    "cookie_auth_body": "cookie authentication is not supported",
    "cookie_auth_headers": "cookie authentication is not supported",
    "cookie_auth_renewal": "cookie authentication is not supported",
    "client_id": "OAuth2 client credentials are not supported; use bearer_token",
    "client_secret": "OAuth2 client credentials are not supported; use bearer_token",
    "token_url": "OAuth2 client credentials are not supported; use bearer_token",
    "scopes": "OAuth2 client credentials are not supported; use bearer_token",
}
_PARSER = ["data_format", "influx_timestamp_precision", "tag_keys", "json_string_fields",
           "json_name_key", "json_query", "json_time_key", "json_time_format", "json_timezone",
           "json_strict", "data_type", "value_field_name", "prometheus_ignore_timestamp"]
_KAFKA = ["brokers", "client_id", "enable_tls", "tls_ca", "tls_cert", "tls_key",
          "tls_key_password", "insecure_skip_verify", "sasl_mechanism", "sasl_username",
          "sasl_password", "librdkafka"]
_KAFKA_UNSUPPORTED = {
    "kafka_version": "librdkafka negotiates the protocol version",
    "version": "librdkafka negotiates the protocol version",
    "sasl_version": "librdkafka negotiates it",
    "metadata_full": "use the librdkafka passthrough, e.g. topic_metadata_refresh_interval_ms",
    "metadata_retry_max": "use the librdkafka passthrough (retries)",
    "metadata_retry_type": "use the librdkafka passthrough",
    "metadata_retry_backoff": "use the librdkafka passthrough (retry_backoff_ms)",
    "metadata_retry_max_duration": "use the librdkafka passthrough",
    "socks5_enabled": "not supported",
    "socks5_address": "not supported",
    "socks5_username": "not supported",
    "socks5_password": "not supported",
}
_HTTPD = ["basic_username", "basic_password", "tls_cert", "tls_key", "tls_allowed_cacerts",
          "ip_range", "read_timeout", "write_timeout", "max_connections",
          "max_connections_per_ip"]
_NO_OPTIONS = []


def P(tower, options=None, **rest):
    """One plugin's table (see the top of this file)."""
    return dict(tower=tower, options=options, **rest)


def _host(name, **extra):
    """A host input: Telegraf's options, Linux only."""
    return P(name, extra.pop("options", _NO_OPTIONS), **extra)


INPUTS = {
    "cpu": _host("cpu", options=["percpu", "totalcpu", "collect_cpu_time", "report_active",
                                 "core_tags"],
                 same={"clamp_percentages": True},
                 unsupported={
                     "clamp_percentages": "tower always clamps (as Telegraf with true)",
                     "percent_invalid_behavior": "tower always clamps to [0, 100]"}),
    "disk": _host("disk", options=["mount_points", "ignore_fs", "ignore_mount_opts", "timeout"],
                  rename={"mountpoints": "mount_points"}),
    "diskio": _host("diskio", options=["devices", "skip_serial_number", "device_tags",
                                       "name_templates"],
                    rewrite={"name_templates": "udev_templates"}),
    "kernel": _host("kernel", options=["collect"]),
    "mem": _host("mem", options=["collect_extended"]),
    "net": _host("net", options=["interfaces", "ignore_protocol_stats"]),
    "netstat": _host("netstat"),
    "processes": _host("processes", same={"use_sudo": False},
                       unsupported={"use_sudo": "tower reads /proc; sudo is for ps on BSD"}),
    "swap": _host("swap"),
    "system": _host("system", options=["include"],
                    unsupported={"os_cache_ttl": "include = [\"os\"] is not implemented",
                                 "dmi_cache_ttl": "include = [\"dmi\"] is not implemented"}),
    "internal": _host("internal", options=["collect_process"],
                      ignored={"collect_memstats": "tower reports internal_process (from "
                                                   "/proc/self) instead of Go memstats"},
                      unsupported={"collect_gc": "tower has no garbage collector"}),
    "procstat": _host("procstat", options=[
        "pid_file", "exe", "pattern", "user", "systemd_unit", "include_systemd_children",
        "cgroup", "pid_finder", "process_name", "prefix", "mode", "properties", "tag_with",
        "pid_tag", "cmdline_tag"],
        unsupported={"filter": "the [[inputs.procstat.filter]] sections are not supported; "
                               "use one procstat input per selection",
                     "supervisor_units": "not supported",
                     "win_service": "Windows only",
                     "sockets": "procstat_socket metrics are not supported",
                     "fieldexclude_regex": "not supported"}),
    "docker": P(tower="docker", options=[
        "endpoint", "timeout", "container_name_include", "container_name_exclude",
        "container_state_include", "container_state_exclude", "docker_label_include",
        "docker_label_exclude", "tag_env", "perdevice_include", "total_include", "source_tag",
        "podman_cache_ttl", "tls_ca", "tls_cert", "tls_key", "tls_key_pwd", "tls_server_name",
        "insecure_skip_verify", "gather_services", "storage_objects"],
        unsupported={"perdevice": "removed in Telegraf 1.18's successor options: use "
                                  "perdevice_include",
                     "total": "use total_include",
                     "container_names": "use container_name_include"}),
    "exec": P(tower="exec", options=[
        "commands", "environment", "timeout", "kill_grace", "max_output", "stderr_lines",
        "ignore_error", "shell", "cgroup"] + _PARSER,
        ignored={"log_stderr": "tower always relays stderr to its log (stderr_lines bounds it)"},
        unsupported={"command": "use commands = [\"...\"]"},
        notes=["exec: tower runs commands without a shell (shell = true for one) and its "
               "default data_format is influx, Telegraf's json"]),
    "http_response": P(tower="http_response", options=[
        "urls", "method", "body", "headers", "follow_redirects", "response_timeout",
        "response_string_match", "response_status_code", "response_body_field",
        "response_body_max_size", "interface", "http_proxy"]
        + [o for o in _HTTP_CLIENT if o not in ("timeout", "http_headers")],
        unsupported=dict(_HTTP_CLIENT_UNSUPPORTED, **{
            "address": "use urls",
            "http_header_tags": "not supported",
            "body_form": "send the form in body, with a Content-Type header"})),
    "prometheus": P(tower="prometheus", options=[
        "urls", "metric_version", "url_tag", "ignore_timestamp", "content_length_limit",
        "enable_request_metrics", "response_timeout"] + _HTTP_CLIENT,
        unsupported=dict(_HTTP_CLIENT_UNSUPPORTED, **{
            k: "no service discovery in tower: list the targets in urls" for k in (
                "kubernetes_services", "kube_config", "monitor_kubernetes_pods",
                "monitor_kubernetes_pods_method", "monitor_kubernetes_pods_scheme",
                "monitor_kubernetes_pods_path", "monitor_kubernetes_pods_port",
                "monitor_kubernetes_pods_namespace", "pod_scrape_scope", "pod_scrape_interval",
                "kubernetes_label_selector", "kubernetes_field_selector", "node_ip",
                "pod_annotation_include", "pod_annotation_exclude", "pod_label_include",
                "pod_label_exclude", "cache_refresh_interval", "consul", "http_service_discovery",
                "namespace_annotation_pass", "namespace_annotation_drop")},
            content_type_override="tower reads the Content-Type the target sends")),
    "influxdb_listener": P(tower="influxdb_listener", options=[
        "service_address", "max_body_size", "database_tag", "retention_policy_tag",
        "bucket_tag", "token", "response_after"] + _HTTPD,
        same={"parser_type": "internal", "database_tag": "", "retention_policy_tag": "",
              "bucket_tag": ""},
        unsupported={"parser_type": "tower has one line protocol parser",
                     "max_line_size": "deprecated in Telegraf; max_body_size bounds a request",
                     "max_undelivered_metrics": "not supported",
                     "precision": "tower reads the precision of each request"}),
    "socket_listener": P(tower="socket_listener", options=[
        "service_address", "max_connections", "read_timeout", "read_buffer_size",
        "keep_alive_period", "socket_mode", "max_line_size", "content_encoding",
        "max_decompression_size", "tls_cert", "tls_key", "tls_allowed_cacerts",
        "tls_min_version"] + _PARSER,
        same={"splitting_strategy": "newline"},
        unsupported={"splitting_strategy": "streams are split at newlines",
                     "splitting_delimiter": "streams are split at newlines",
                     "splitting_length": "streams are split at newlines",
                     "splitting_length_field": "streams are split at newlines",
                     "tls_cipher_suites": "GnuTLS's defaults are used",
                     "tls_max_version": "GnuTLS's defaults are used",
                     "tls_key_pwd": "encrypted keys are not supported: decrypt the key",
                     "tls_server_name": "not supported"}),
    "x509_cert": P(tower="x509_cert", options=[
        "sources", "timeout", "server_name", "tls_server_name", "exclude_root_certs", "tls_ca",
        "tls_cert", "tls_key"],
        same={"pad_serial_with_zeroes": False},
        unsupported={"pad_serial_with_zeroes": "not implemented",
                     "use_proxy": "proxies are not supported",
                     "proxy_url": "proxies are not supported",
                     "tls_key_pwd": "encrypted keys are not supported: decrypt the key"}),
    "kafka_consumer": P(tower="kafka_consumer", options=[
        "topics", "consumer_group", "offset", "balance_strategy", "topic_tag",
        "max_message_len", "max_undelivered_messages", "timestamp_source"] + _KAFKA + _PARSER,
        unsupported=dict(_KAFKA_UNSUPPORTED, **{
            "topic_regexps": "write a topic starting with ^ in topics",
            "msg_headers_as_tags": "not supported",
            "msg_header_as_metric_name": "not supported",
            "max_processing_time": "not supported",
            "consumer_fetch_default": "use the librdkafka passthrough (fetch_max_bytes)",
            "consumer_fetch_min": "use the librdkafka passthrough (fetch_min_bytes)",
            "consumer_fetch_max_wait": "use the librdkafka passthrough (fetch_wait_max_ms)",
            "compression_codec": "a consumer reads whatever codec the producer used",
            "connection_strategy": "librdkafka connects at start and retries itself"})),
    # tower's own: no Telegraf twin; kept for configurations of external
    # plugins of the same name and for the AWS credential names.
    "dynamodb": P(tower="dynamodb", options=[
        "tables", "region", "endpoint_url", "page_size", "max_items", "consistent_read",
        "projection_expression", "filter_expression", "expression_attribute_names",
        "expression_attribute_values", "segments", "tag_keys", "timestamp_key",
        "timestamp_format", "separator", "timeout", "max_retries", "access_key", "secret_key", "token", "access_key_id", "secret_access_key",
        "session_token", "profile", "shared_credential_file", "shared_credentials_file",
        "role_arn", "role_session_name", "web_identity_token_file", "imds", "tls_ca",
        "tls_cert", "tls_key", "tls_key_pwd", "tls_server_name", "insecure_skip_verify",
        "use_system_proxy", "http_proxy_url"],
                 rename={"access_key": "access_key_id", "secret_key": "secret_access_key",
                         "token": "session_token",
                         "shared_credential_file": "shared_credentials_file"}),
    # plugins/common/aws takes Telegraf's AWS names (and dynamodb's older ones).
    "mysql": P(tower="mysql", options=[
        "servers", "metric_version", "timeout", "gather_global_variables", "interval_slow",
        "gather_slave_status", "gather_replica_status", "gather_all_slave_channels",
        "mariadb_dialect", "gather_process_list", "gather_user_statistics",
        "gather_innodb_metrics", "gather_table_io_waits", "gather_index_io_waits",
        "gather_table_schema", "table_schema_databases", "gather_perf_events_statements",
        "perf_events_statements_digest_text_limit", "perf_events_statements_limit",
        "perf_events_statements_time_limit", "tls_ca", "tls_cert", "tls_key",
        "insecure_skip_verify"],
              unsupported={o: "not implemented in tower's mysql input (its README)" for o in (
                  "gather_binary_logs", "gather_info_schema_auto_inc", "gather_table_lock_waits",
                  "gather_event_waits", "gather_file_events_stats",
                  "gather_perf_sum_per_acc_per_event")}),
    "cloudwatch": P(tower="cloudwatch", options=[
        "region", "endpoint_url", "namespaces", "namespace", "period", "delay",
        "recently_active", "cache_ttl", "ratelimit", "batch_size", "timeout",
        "statistic_include", "statistic_exclude", "include_linked_accounts", "metrics", "access_key", "secret_key", "token", "access_key_id", "secret_access_key",
        "session_token", "profile", "shared_credential_file", "shared_credentials_file",
        "role_arn", "role_session_name", "web_identity_token_file", "imds", "tls_ca",
        "tls_cert", "tls_key", "tls_key_pwd", "tls_server_name", "insecure_skip_verify",
        "use_system_proxy", "http_proxy_url"]),
}

OUTPUTS = {
    "influxdb": P(tower="influxdb", options=[
        "urls", "database", "database_tag", "exclude_database_tag", "retention_policy",
        "write_consistency", "skip_database_creation", "precision", "content_encoding",
        "http_proxy", "user_agent", "influx_uint_support", "influx_omit_timestamp",
        "auth_in_query", "api"] + [o for o in _HTTP_CLIENT if not o.startswith("bearer_token")],
        unsupported=dict(_HTTP_CLIENT_UNSUPPORTED, **{
            "retention_policy_tag": "not supported yet",
            "exclude_retention_policy_tag": "not supported yet",
            "udp_payload": "tower writes over HTTP only",
            "influx_max_line_bytes": "not supported",
            "influx_sort_fields": "not supported"})),
    "influxdb_v2": P(tower="influxdb", set={"api": '"v2"'}, same={"rate_limit": "0MB"}, options=[
        "urls", "organization", "bucket", "bucket_tag", "exclude_bucket_tag", "token",
        "content_encoding", "http_proxy", "user_agent", "influx_uint_support",
        "influx_omit_timestamp"] + [o for o in _HTTP_CLIENT if not o.startswith("bearer_token")],
        unsupported=dict(_HTTP_CLIENT_UNSUPPORTED, **{
            "rate_limit": "not supported: tower writes batches as they come",
            "concurrent_writes": "not supported",
            "ping_timeout": "not supported",
            "read_idle_timeout": "not supported",
            "influx_max_line_bytes": "not supported",
            "influx_sort_fields": "not supported"})),
    "prometheus_client": P(tower="prometheus", options=[
        "listen", "path", "expiration_interval", "string_as_label", "export_timestamp",
        "max_series", "gzip_level"] + _HTTPD,
        same={"metric_version": 1},
        ignored={"collectors_exclude": "tower exports no Go runtime or process collectors"},
        unsupported={"metric_version": "tower's prometheus output maps metrics as "
                                       "metric_version = 1; series names change under 2",
                     "typed_metrics": "not supported",
                     "tls_cipher_suites": "the TLS library's defaults are used"}),
    "kafka": P(tower="kafka", options=[
        "topic", "topic_tag", "exclude_topic_tag", "routing_tag", "routing_key",
        "batch_format", "max_message_bytes", "compression_codec", "required_acks",
        "idempotent_writes", "max_retry", "write_timeout", "producer_timestamp",
        "data_format", "influx_uint_support", "influx_omit_timestamp", "csv_timestamp_format",
        "csv_separator", "csv_header", "csv_column_prefix", "json_timestamp_units",
        "json_timestamp_format", "prometheus_export_timestamp", "prometheus_string_as_label",
        "prometheus_compact_encoding"] + _KAFKA,
        unsupported=dict(_KAFKA_UNSUPPORTED, **{
            "topic_suffix": "use topic_tag (set by a processor if need be)",
            "headers": "message headers are not supported"})),
    "file": P(tower="file", options=[
        "files", "use_batch_format", "rotation_interval", "rotation_max_size",
        "rotation_max_archives", "data_format", "influx_uint_support", "influx_omit_timestamp",
        "csv_timestamp_format", "csv_separator", "csv_header", "csv_column_prefix",
        "json_timestamp_units", "json_timestamp_format", "prometheus_export_timestamp",
        "prometheus_string_as_label", "prometheus_compact_encoding"]),
    "health": P(tower="health", options=[
        "service_address", "basic_username", "basic_password", "tls_cert", "tls_key",
        "tls_allowed_cacerts", "ip_range", "read_timeout", "write_timeout", "max_connections",
        "max_connections_per_ip", "max_write_age", "max_buffer_fill", "max_failed_gathers",
        "max_failed_writes", "compares", "contains"]),
}

PROCESSORS = {
    "filter": P(tower="filter", options=["default", "rules"], rename={"rule": "rules"}),
    "rename": P(tower="rename", options=["replace"]),
    "converter": P(tower="converter", options=["tag_conversions", "fields"],
                   rename={"tags": "tag_conversions"}),
    "enum": P(tower="enum", options=["mapping"], rewrite={"mapping": "enum_mappings"}),
    "override": P(tower="override", options=RENAMES),
    "regex": P(tower="regex", options=["tag_values", "fields", "tag_rename", "field_rename",
                                       "metric_rename"], rename={"tags": "tag_values"},
              rewrite={k: "regex_rules" for k in ("tag_values", "fields", "tag_rename",
                                                     "field_rename", "metric_rename")},
              unsupported={"namepass_regex": "not supported"}),
    "strings": P(tower="strings", options=[
        "lowercase", "uppercase", "titlecase", "trim", "trim_left", "trim_right", "trim_prefix",
        "trim_suffix", "replace", "left", "base64decode", "valid_utf8"]),
    "dedup": P(tower="dedup", options=["dedup_interval", "max_series"],
              ignored={"statefile": "tower keeps no state across restarts"}),
    "tag_limit": P(tower="tag_limit", options=["limit", "keep"]),
}

# max_series, tower's bound on an aggregator's memory, is not Telegraf's.
AGGREGATORS = {
    "basicstats": P(tower="basicstats", options=["stats", "max_series"]),
    "minmax": P(tower="minmax", options=["max_series"]),
    "final": P(tower="final", options=["series_timeout", "output_strategy",
                                       "keep_original_field_names", "max_series"]),
    "histogram": P(tower="histogram", options=["reset", "cumulative", "expiration_interval",
                                               "push_only_on_update", "config", "max_series"]),
    "merge": P(tower="merge", options=["round_timestamp_to", "max_series"]),
    "quantile": P(tower="quantile", options=["quantiles", "algorithm", "compression",
                                             "max_series"]),
}

PLUGINS = {"inputs": INPUTS, "outputs": OUTPUTS, "processors": PROCESSORS,
           "aggregators": AGGREGATORS}

# Plugins tower has under another shape: why, and what to use instead.
MISSING = {
    ("processors", "starlark"): "tower has no Starlark; rewrite the script for "
                                "processors.lua (function process(metric), see its README)",
    ("outputs", "discard"): "leave the output out: tower needs no output to run",
}


# ---- plugins that map in one configuration only -------------------------------

def _http_output(opts):
    if opts.get("data_format") == "prometheusremotewrite":
        return P("prometheus_remote_write", ["url", "prometheus_string_as_label"] + _HTTP_CLIENT,
                 consumed=("data_format",),
                 rename={"headers": "http_headers"},
                 rewrite={"http_headers": "remote_write_headers"},
                 same={"method": "POST", "content_encoding": "snappy"},
                 ignored={"prometheus_sort_metrics": "tower always sorts the series"},
                 unsupported=_HTTP_CLIENT_UNSUPPORTED,
                 notes=["outputs.http with data_format = \"prometheusremotewrite\" is "
                        "tower's prometheus_remote_write output"])
    return ("tower has no generic HTTP output; it has influxdb, prometheus (scraped) and "
            "prometheus_remote_write (outputs.http with data_format = "
            "\"prometheusremotewrite\")")


def _influxdb_v2_listener(opts):
    t = dict(INPUTS["influxdb_listener"])
    t["notes"] = ["tower's influxdb_listener serves the 1.x and 2.x APIs at once"]
    return t


OUTPUTS["http"] = {"when": _http_output}
INPUTS["influxdb_v2_listener"] = {"when": _influxdb_v2_listener}


# ---- value rewrites -------------------------------------------------------------

_REF = re.compile(r"(?<!\$)\$\{")


def _regex_rules(rules):
    """${1} and ${name} in replacements are the regex's groups, not the
    environment: tower reads them only when written $${1}."""
    if not isinstance(rules, list):
        return rules
    out = []
    for r in rules:
        if isinstance(r, dict) and isinstance(r.get("replacement"), str):
            r = dict(r, replacement=_REF.sub("$${", r["replacement"]))
        out.append(r)
    return out


_NAME = re.compile(r"^[A-Za-z*][-A-Za-z0-9_*]*$")


def _enum_mappings(mappings):
    """value_mappings whose keys are not libconfig names become pairs."""
    if not isinstance(mappings, list):
        return mappings
    out = []
    for m in mappings:
        vm = m.get("value_mappings") if isinstance(m, dict) else None
        if isinstance(vm, dict) and not all(_NAME.match(k) for k in vm):
            m = dict(m, value_mappings=[(k, v) for k, v in vm.items()])
        out.append(m)
    return out


# The headers of the remote-write protocol, which the output sends itself.
_REMOTE_WRITE_HEADERS = {"content-type", "content-encoding", "x-prometheus-remote-write-version",
                         "user-agent"}


def _remote_write_headers(headers):
    if not isinstance(headers, dict):
        return headers
    left = {k: v for k, v in headers.items() if k.lower() not in _REMOTE_WRITE_HEADERS}
    return left or None


_VAR = re.compile(r"(?<!\$)\$(?=[A-Za-z_{])")


def _udev_templates(templates):
    """$ID_FS_LABEL in name_templates is udev's property, which Telegraf's
    environment substitution leaves alone while no such variable is set;
    tower refuses an unset variable, so the $ is written $$ (a literal $)."""
    if not isinstance(templates, list):
        return templates
    return [_VAR.sub("$$", t) if isinstance(t, str) else t for t in templates]


REWRITES = {"udev_templates": _udev_templates, "regex_rules": _regex_rules, "enum_mappings": _enum_mappings,
            "remote_write_headers": _remote_write_headers}
