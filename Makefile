# sqlite-databricks: build, test and demo.
#
#   make            build/databricks.so, the loadable extension
#   make test       unit tests, then integration tests against dbx-local
#   make asan       the same suites under AddressSanitizer and UBSan
#   make fuzz       each libFuzzer target of tests/fuzz for FUZZ_SECONDS
#                   (default 20); fails on a crash and prints the path of
#                   the input that caused it
#   make demo       start dbx-local and run examples/quickstart.sql
#   make bench      benchmarks (not part of make test)
#   make deps       install missing Debian and npm packages (make test and
#                   make demo run it first)
#   make install    copy the extension to $(DESTDIR)$(LIBDIR) (default
#                   /usr/local/lib) and the header to $(INCLUDEDIR)

BUILD    ?= build
CC       ?= cc
PKGS     := libcurl libcjson openssl libzstd
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2
ifdef CI
WARN     += -Werror
endif
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
# GCC's undefined group leaves out the float checks and the strict bounds
# check (flexible array members); all of them abort on the first report.
SAN_FLAGS = -fsanitize=address,undefined,float-divide-by-zero,float-cast-overflow,bounds-strict \
            -fno-sanitize-recover=all -fno-omit-frame-pointer
ifdef SANITIZE
CFLAGS   := -O1 -g $(SAN_FLAGS)
LDSAN    := $(SAN_FLAGS)
endif
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEP_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) \
             $(CFLAGS) $(DEP_CFLAGS) -Iinclude

SRCS      := $(wildcard ext/*.c)
HDRS      := $(wildcard ext/*.h) include/databricks.h
# The models of sql/models/, embedded as C strings by the rule below.
MODELS    := $(sort $(wildcard sql/models/*.sql))
MODELS_C  := $(BUILD)/gen/models_data.c
EXT_OBJS  := $(SRCS:ext/%.c=$(BUILD)/ext/%.o) $(BUILD)/ext/models_data.o
CORE_OBJS := $(SRCS:ext/%.c=$(BUILD)/core/%.o) $(BUILD)/core/models_data.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)
NODE_STAMP := tests/dbx-local/node_modules/.installed

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

.PHONY: all test asan fuzz fuzz-build demo bench deps unit clean format \
        install uninstall
all: $(BUILD)/databricks.so

# The loadable extension: only sqlite3_databricks_init is exported.
$(BUILD)/databricks.so: $(EXT_OBJS)
	@echo "  LD      $@"
	@$(CC) -shared -o $@ $^ $(LDSAN) $(DEP_LIBS)

$(BUILD)/ext/%.o: ext/%.c $(HDRS) | $(BUILD)/ext
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Each sql/models/NAME.sql becomes {"NAME", "<its text>"} in dbx_model_text
# (models.h): backslash, quote and '?' (trigraphs) escaped, one C string
# piece per line. NAME must be lower-case letters, digits and '_'.
$(MODELS_C): $(MODELS) Makefile | $(BUILD)/gen
	@echo "  GEN     $@"
	@{ echo '/* Generated from sql/models/ by the Makefile: do not edit. */'; \
	  echo '#include "models.h"'; \
	  echo 'const DbxModelText dbx_model_text[] = {'; \
	  for f in $(MODELS); do \
	    n=$$(basename "$$f" .sql); \
	    case "$$n" in ''|*[!a-z0-9_]*) echo "bad model name: $$f" >&2; exit 1;; esac; \
	    echo "    {\"$$n\","; \
	    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' \
	        -e 's/^/     "/' -e 's/$$/\\n"/' "$$f"; \
	    echo '    },'; \
	  done; \
	  echo '    {0, 0}};'; \
	  echo 'const int dbx_model_text_count ='; \
	  echo '    (int)(sizeof(dbx_model_text) / sizeof(dbx_model_text[0])) - 1;'; \
	} > $@.tmp && mv $@.tmp $@

$(BUILD)/ext/models_data.o: $(MODELS_C) $(HDRS) | $(BUILD)/ext
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -Iext -c -o $@ $<

$(BUILD)/core/models_data.o: $(MODELS_C) $(HDRS) | $(BUILD)/core
	@$(CC) $(ALL_CFLAGS) -Iext -DSQLITE_CORE -c -o $@ $<

# Unit tests link the same sources built with SQLITE_CORE, against libsqlite3.
$(BUILD)/core/%.o: ext/%.c $(HDRS) | $(BUILD)/core
	@$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -c -o $@ $<

$(BUILD)/libdbx_core.a: $(CORE_OBJS)
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libdbx_core.a $(HDRS) | $(BUILD)/unit
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -DSQLITE_CORE -Iext -o $@ $< $(BUILD)/libdbx_core.a \
	  $(LDSAN) $(DEP_LIBS) -lsqlite3 -lcmocka -lm -lpthread

$(BUILD)/ext $(BUILD)/core $(BUILD)/unit $(BUILD)/gen:
	@mkdir -p $@

# build/unit/sqltext prints the write statements for the integration tests.
unit: $(UNIT_BINS) $(BUILD)/unit/sqltext

# Fuzz targets: clang's libFuzzer over the same sources built with
# SQLITE_CORE, with ASan and UBSan; tests/fuzz/run.sh runs them.
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 20
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined,float-divide-by-zero,float-cast-overflow \
                -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c11 -D_GNU_SOURCE -DSQLITE_CORE -g -O1 -Wall -Wextra \
                $(FUZZ_SAN) $(DEP_CFLAGS) -Iinclude -Iext
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS    := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_OBJS    := $(SRCS:ext/%.c=$(FUZZ_DIR)/core/%.o) $(FUZZ_DIR)/core/models_data.o

$(FUZZ_DIR)/core/%.o: ext/%.c $(HDRS) | $(FUZZ_DIR)/core
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/core/models_data.o: $(MODELS_C) $(HDRS) | $(FUZZ_DIR)/core
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libdbx_fuzz.a: $(FUZZ_OBJS)
	@rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libdbx_fuzz.a $(HDRS)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_DIR)/libdbx_fuzz.a $(DEP_LIBS) -lsqlite3 -lm -lpthread

$(FUZZ_DIR)/core:
	@mkdir -p $@

fuzz-build: $(FUZZ_BINS)

fuzz:
	@tests/deps.sh
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

deps: $(NODE_STAMP)
	@tests/deps.sh

$(NODE_STAMP): tests/dbx-local/package-lock.json
	@tests/deps.sh
	@echo "  NPM     tests/dbx-local (npm ci)"
	@cd tests/dbx-local && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

test: deps
	@$(MAKE) --no-print-directory $(BUILD)/databricks.so unit
	@BUILD=$(BUILD) tests/run.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 build-asan/databricks.so unit
	@BUILD=build-asan SANITIZE=1 tests/run.sh

demo: deps $(BUILD)/databricks.so
	@BUILD=$(BUILD) examples/run-demo.sh

bench: deps $(BUILD)/databricks.so
	@BUILD=$(BUILD) tests/bench/run.sh

install: $(BUILD)/databricks.so
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)
	install -m 0755 $(BUILD)/databricks.so $(DESTDIR)$(LIBDIR)/databricks.so
	install -m 0644 include/databricks.h $(DESTDIR)$(INCLUDEDIR)/databricks.h

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/databricks.so $(DESTDIR)$(INCLUDEDIR)/databricks.h

format:
	@clang-format -i ext/*.c ext/*.h include/*.h tests/unit/*.c tests/unit/*.h \
	  tests/fuzz/*.c tests/fuzz/*.h

clean:
	rm -rf build build-asan
