# yizhan build.  `make` builds build/rel/yizhan; see README.md for the rest.
#   make run    install missing Debian packages, build, start the demo server
#   make test   sanitizer build + unit, HTTP and browser tests on SQLite and PostgreSQL
#   make bench  benchmarks against the running binary (wrk on loopback)
#   make fuzz   libFuzzer targets, each run for FUZZ_SECONDS

CC      ?= cc
PKGS    := libmicrohttpd sqlite3 libpq libsodium jansson liboath libqrencode cairo pangocairo libcurl xlsxwriter libzip expat
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-missing-field-initializers
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE $(WARN) -Isrc -Ibuild/gen $(PKG_CFLAGS)
LIBS    := $(PKG_LIBS) -lcsv -lmagic -lpthread -lm

REL_CFLAGS  := $(CFLAGS_COMMON) -O2 -g
ASAN_CFLAGS := $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CC     := clang
FUZZ_CFLAGS := $(CFLAGS_COMMON) -O1 -g -fsanitize=fuzzer,address,undefined -Wno-unused-command-line-argument -Wno-string-concatenation

SRC     := $(sort $(wildcard src/core/*.c src/engines/*/*.c src/apps/*/*.c))
GEN     := build/gen/embed_migrations.c build/gen/embed_templates.c build/gen/embed_web.c \
	   build/gen/embed_processes.c build/gen/embed_calendars.c \
	   build/gen/embed_registries.c
MIGRATIONS := $(sort $(wildcard migrations/*/*.sql))
TEMPLATES  := $(sort $(wildcard templates/*/*.html))
WEBFILES   := $(sort $(shell find web -type f 2>/dev/null))
PROCESSES  := $(sort $(wildcard processes/*/*.proc))
CALENDARS  := $(sort $(wildcard calendar/*.txt))
REGISTRIES := $(sort $(wildcard registries/*.reg))
UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(sort $(wildcard tests/unit/test_*.c)))
FUZZERS    := $(patsubst fuzz/%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_SECONDS ?= 20

REL_OBJ  := $(patsubst %.c,build/rel/%.o,$(SRC) $(GEN))
ASAN_OBJ := $(patsubst %.c,build/asan/%.o,$(SRC) $(GEN))
FUZZ_OBJ := $(patsubst %.c,build/fuzz/%.o,$(SRC) $(GEN))

.PHONY: all run test unit bench bench-case fuzz deps deps-test clean asan
.SECONDARY:
all: build/rel/yizhan

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build/tools/embed: tools/embed.c
	@mkdir -p $(@D)
	$(CC) -O1 -Wall -Wextra -Werror -o $@ $<

build/gen/embed_migrations.c: build/tools/embed $(MIGRATIONS)
	@mkdir -p $(@D)
	build/tools/embed embed_migrations migrations $(MIGRATIONS) > $@.tmp && mv $@.tmp $@
build/gen/embed_templates.c: build/tools/embed $(TEMPLATES)
	@mkdir -p $(@D)
	build/tools/embed embed_templates templates $(TEMPLATES) > $@.tmp && mv $@.tmp $@
build/gen/embed_processes.c: build/tools/embed $(PROCESSES)
	@mkdir -p $(@D)
	build/tools/embed embed_processes processes $(PROCESSES) > $@.tmp && mv $@.tmp $@
build/gen/embed_calendars.c: build/tools/embed $(CALENDARS)
	@mkdir -p $(@D)
	build/tools/embed embed_calendars calendar $(CALENDARS) > $@.tmp && mv $@.tmp $@
build/gen/embed_registries.c: build/tools/embed $(REGISTRIES)
	@mkdir -p $(@D)
	build/tools/embed embed_registries registries $(REGISTRIES) > $@.tmp && mv $@.tmp $@
build/gen/embed_web.c: build/tools/embed $(WEBFILES)
	@mkdir -p $(@D)
	build/tools/embed embed_web web $(WEBFILES) > $@.tmp && mv $@.tmp $@

build/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -MMD -MP -c -o $@ $<
build/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c -o $@ $<
build/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

build/rel/yizhan: $(REL_OBJ) build/rel/src/main.o
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LIBS)
build/asan/yizhan: $(ASAN_OBJ) build/asan/src/main.o
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

build/asan/tests/%: tests/unit/%.c $(ASAN_OBJ) tests/unit/testutil.h
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -Itests/unit -o $@ $< $(ASAN_OBJ) $(LIBS) -lcmocka

build/fuzz/bin/%: fuzz/%.c $(FUZZ_OBJ) $(wildcard fuzz/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJ) $(LIBS)

asan: build/asan/yizhan $(addprefix build/asan/tests/,$(UNIT_TESTS))

run: deps
	@$(MAKE) --no-print-directory build/rel/yizhan
	build/rel/yizhan serve --demo --data demo-data

test: deps deps-test
	@$(MAKE) --no-print-directory asan
	@tests/run.sh

unit: asan
	@tests/run.sh unit

bench: deps deps-test
	@$(MAKE) --no-print-directory build/rel/yizhan build/rel/bench/fill_cases build/rel/bench/raw_replay
	@bench/run.sh
	@if [ "$${BENCH_HALL:-1}" != 0 ]; then bench/hall.sh; fi
	@if [ "$${BENCH_SHARE:-1}" != 0 ]; then bench/share.sh; fi

# The case engine at 1,000,000 cases: sweep and inbox (BENCH_CASES, BENCH_CASE_STORE).
bench-case: build/rel/bench/case_sweep
	build/rel/bench/case_sweep

build/rel/bench/case_sweep: bench/case_sweep.c $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $< $(REL_OBJ) $(LIBS)

# The service hall (bench/hall.sh): cases for the inbox and the sweeps; the raw SQLite baseline.
build/rel/bench/fill_cases: bench/fill_cases.c $(REL_OBJ)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $< $(REL_OBJ) $(LIBS)

build/rel/bench/raw_replay: bench/raw_replay.c
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $< $(LIBS)

fuzz: deps deps-test
	@$(MAKE) --no-print-directory $(addprefix build/fuzz/bin/,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
		mkdir -p build/fuzz/corpus/$$f; \
		echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
		seeds=""; [ -d fuzz/corpus/$$f ] && seeds=fuzz/corpus/$$f; \
		build/fuzz/bin/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -timeout=10 \
			build/fuzz/corpus/$$f $$seeds 2>build/fuzz/$$f.log || { tail -40 build/fuzz/$$f.log; exit 1; }; \
		grep -E 'stat::number_of_executed_units' build/fuzz/$$f.log || true; \
	done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
