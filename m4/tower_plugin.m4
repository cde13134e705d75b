# TOWER_PLUGIN(KIND, NAME, PROBE-VAR, DESCRIPTION, [OPTION])
#
# Declares one plugin: plugins/KIND/NAME. Adds --enable-NAME/--disable-NAME
# (NAME with '-' for '_'), decides whether it is built, and records a row for
# the summary table printed at the end of configure.
#
#   KIND       inputs, processors or outputs
#   NAME       the plugin name (cpu, kafka_consumer)
#   PROBE-VAR  shell variable holding "yes" or "no (why)" from the dependency
#              probe; the plugin is built only when it says yes
#   DESCRIPTION one line for --help
#   OPTION     the --enable-/--disable- name and conditional when NAME alone
#              would clash with a plugin of another kind (inputs.prometheus
#              and outputs.prometheus): prometheus-input gives
#              --enable-prometheus-input and BUILD_PLUGIN_PROMETHEUS_INPUT
#
# Rules: an explicit --enable-NAME (or --enable-all-plugins) whose probe says
# no is a configure error naming the missing package; a plugin left on auto is
# silently disabled with the reason; --disable-NAME always wins.
# Defines the automake conditional BUILD_PLUGIN_<NAME> (or <OPTION>).
AC_DEFUN([TOWER_PLUGIN], [
  m4_pushdef([tp_name], m4_default([$5], [$2]))
  m4_pushdef([tp_opt], m4_translit(tp_name, [_], [-]))
  m4_pushdef([tp_var], m4_translit(tp_name, [-], [_]))
  m4_pushdef([tp_cond], [BUILD_PLUGIN_]m4_toupper(m4_translit(tp_name, [-], [_])))
  AC_ARG_ENABLE(tp_opt,
    [AS_HELP_STRING([--enable-]tp_opt, [$1.$2: $4])],
    [tp_want="$enableval"], [tp_want="$tower_all_plugins"])
  tp_probe="$[$3]"
  AS_CASE(["$tp_want"],
    [no], [AS_IF([test "x$enable_[]tp_var" = xno],
                 [tp_status="no (disabled by --disable-]tp_opt[)"],
                 [tp_status="no (disabled by --disable-all-plugins)"])],
    [yes], [AS_IF([test "x$tp_probe" = xyes], [tp_status=yes],
                  [tp_status="$tp_probe"
                   tower_plugin_errors="$tower_plugin_errors
    $1.$2 was requested but cannot be built: $tp_probe"])],
    [tp_status="$tp_probe"])
  AM_CONDITIONAL(tp_cond, [test "x$tp_status" = xyes])
  tower_plugin_summary="$tower_plugin_summary
$(printf '    %-12s %-22s %s' "$1" "$2" "$tp_status")"
  m4_popdef([tp_cond])
  m4_popdef([tp_var])
  m4_popdef([tp_opt])
  m4_popdef([tp_name])
])

# TOWER_PKG_PROBE(VAR, PREFIX, MODULES, DEBIAN-PACKAGE)
# Runs PKG_CHECK_MODULES quietly and sets VAR to "yes" or to
# "no (MODULES not found; install DEBIAN-PACKAGE)".
AC_DEFUN([TOWER_PKG_PROBE], [
  PKG_CHECK_MODULES([$2], [$3], [$1=yes],
    [$1="no ($3 not found by pkg-config; install $4)"])
])
