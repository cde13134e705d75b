# GNU make: builds and runs the libFuzzer targets. `make fuzz` and
# `make fuzz-run` call it from the top build directory
# (tests/fuzz/Makefile.inc) with the configure results; it is not processed
# by automake. Everything it makes lives under fuzz/: libtower and the
# targets compiled again by clang with coverage and sanitizers, apart from
# the objects of the normal build.
#
#   fuzz/fuzz_<name>           a libFuzzer binary per target
#   fuzz/plugins/fuzz_*.so     the fixture plugin of fuzz_config, per kind
#   fuzz/run/<name>/           a run's new inputs, log and crash reproducers
#   fuzz/fuzz-run.log          "# PASS: N" / "# FAIL: N" of the last run

O := fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
# V=1 shows the commands.
V ?= 0
ifeq ($(V),0)
show = @echo "  $(1)	$(2)";
endif
# Checked once per compiler.
TOOLCHECK := $(O)/toolcheck-$(notdir $(FUZZ_CC)).stamp

SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
BASE_CFLAGS := -g -O1 -std=gnu11 -pthread -fno-omit-frame-pointer $(SAN)
# Coverage for what is fuzzed: libtower, the CSV reader and the targets.
COV_CFLAGS := $(BASE_CFLAGS) -fsanitize=fuzzer-no-link
CPPFLAGS := -I$(srcdir)/sdk/include -I$(srcdir)/core -I$(srcdir)/core/format -I$(builddir) \
	-I$(srcdir)/tests/fuzz \
	$(LIBCONFIG_CFLAGS)
# libtower's own defines (core/Makefile.inc); the fuzzers never use them.
CORE_CPPFLAGS := -DTOWER_DEFAULT_PLUGIN_DIR='"/nonexistent"' \
	-DTOWER_DEFAULT_CONFIG='"/nonexistent/tower.conf"' \
	-DTOWER_SAMPLE_CONFIG='"/nonexistent/tower.conf.sample"' \
	-DTOWER_DEFAULT_BUFFER_DIR='"/nonexistent/buffer"' -DTOWER_BINDIR='"/nonexistent"'
# libtower's own libraries (core_libtower_la_LIBADD), so a new one reaches
# the fuzzers without an edit here.
LIBS := $(CORE_LIBS) -lm -ldl -lpthread

CORE_OBJS := $(patsubst %.c,$(O)/obj/%.o,$(filter %.c,$(CORE_SOURCES)))
TARGET_BINS := $(patsubst %,$(O)/fuzz_%,$(FUZZ_TARGETS))
PLUGINS := $(O)/plugins/fuzz_input.so $(O)/plugins/fuzz_processor.so \
	$(O)/plugins/fuzz_output.so

# Per target: extra sources, flags and libraries.
extra_csv_header := plugins/outputs/csv/csv_reader.c plugins/outputs/csv/csv_row.c
cppflags_csv_header := -I$(srcdir)/plugins/outputs/csv
cppflags_json := $(JANSSON_CFLAGS)
libs_json := $(JANSSON_LIBS)
cppflags_config := -DFUZZ_PLUGIN_SO_DIR='"$(abspath $(O))/plugins"'
deps_config := $(PLUGINS)

all: $(TARGET_BINS)
.PHONY: all run

# clang with libFuzzer's runtime, or a message saying what to install.
$(TOOLCHECK):
	@mkdir -p $(O)
	@printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
	  > $(O)/toolcheck.c
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	  echo "make fuzz: no $(FUZZ_CC) here. The fuzz targets need clang with libFuzzer:"; \
	  echo "  apt-get install clang libclang-rt-14-dev   (Debian 12), or FUZZ_CC=<clang>"; \
	  exit 1; \
	elif ! $(FUZZ_CC) -fsanitize=fuzzer,address,undefined $(O)/toolcheck.c \
	    -o $(O)/toolcheck >$(O)/toolcheck.log 2>&1; then \
	  echo "make fuzz: $(FUZZ_CC) cannot link a libFuzzer program (-fsanitize=fuzzer):"; \
	  sed 's/^/  /' $(O)/toolcheck.log | head -5; \
	  echo "  install libFuzzer's runtime: apt-get install libclang-rt-14-dev (Debian 12)"; \
	  exit 1; \
	fi
	@touch $@

$(O)/obj/core/%.o: $(srcdir)/core/%.c | $(TOOLCHECK)
	@mkdir -p $(@D)
	$(call show,CC,$@)$(FUZZ_CC) $(COV_CFLAGS) $(CPPFLAGS) $(CORE_CPPFLAGS) -MMD -MP -c $< -o $@

$(O)/obj/plugins/%.o: $(srcdir)/plugins/%.c | $(TOOLCHECK)
	@mkdir -p $(@D)
	$(call show,CC,$@)$(FUZZ_CC) $(COV_CFLAGS) $(CPPFLAGS) -MMD -MP -c $< -o $@

$(O)/obj/tests/fuzz/fuzz_%.o: $(srcdir)/tests/fuzz/fuzz_%.c | $(TOOLCHECK)
	@mkdir -p $(@D)
	$(call show,CC,$@)$(FUZZ_CC) $(COV_CFLAGS) $(CPPFLAGS) $(cppflags_$*) -MMD -MP -c $< -o $@

# The fixture plugins: sanitizers, no coverage (they are the harness); the
# binary exports libtower (-rdynamic) for them.
$(O)/plugins/fuzz_%.so: $(srcdir)/tests/fuzz/fuzz_plugin.c | $(TOOLCHECK)
	@mkdir -p $(@D)
	$(call show,CCLD,$@)$(FUZZ_CC) $(BASE_CFLAGS) -I$(srcdir)/sdk/include -fPIC -shared -fvisibility=hidden \
	  -DFUZZ_$(shell echo $* | tr a-z A-Z) $< -o $@

define fuzz_binary
$(O)/fuzz_$(1): $(O)/obj/tests/fuzz/fuzz_$(1).o $(patsubst %.c,$(O)/obj/%.o,$(extra_$(1))) \
		$(CORE_OBJS) $(deps_$(1))
	$$(call show,CCLD,$$@)$(FUZZ_CC) $(COV_CFLAGS) -fsanitize=fuzzer -rdynamic -o $$@ $$(filter %.o,$$^) \
	  $(libs_$(1)) $(LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_binary,$(t))))

run: all
	@sh $(srcdir)/tests/fuzz/run.sh $(O) $(srcdir)/tests/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
