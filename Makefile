# The verbs users type; CMake does the building.
#
#   make             build everything (build/)
#   make test        build, then run every test twice: in build/ and, built
#                    with AddressSanitizer + UBSan, in build-asan/
#   make example     build, start a throwaway PostgreSQL, apply the blog
#                    example's migrations, run the example, stop PostgreSQL
#   make example-shards
#                    the blog spread over four throwaway PostgreSQL servers
#                    (examples/blog/shards.ttl, docs/scale-out.md)
#   make install PREFIX=DIR
#   make golden      regenerate the golden files of tests/golden (review the diff!)
#   make bench       the benchmark (not a test): docs/performance.md
#   make clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE      ?= cmake
CTEST      ?= ctest

.PHONY: all build test test-build test-asan example example-shards install golden clean

all: build

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DDBONT_SANITIZE=ON

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j $(JOBS)

test-build: build
	cd $(BUILD) && $(CTEST) --output-on-failure -j $(JOBS)

test-asan: $(ASAN_BUILD)/CMakeCache.txt
	$(CMAKE) --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 $(CTEST) --output-on-failure -j $(JOBS)

test: test-build test-asan

example: build
	bash tests/pg/run-with-cluster.sh sh -c '$(CMAKE) --build $(BUILD) --target blog_db_migrate && APP_DATABASE_URL="$$DATABASE_URL&user=app_user" $(BUILD)/examples/blog/blog-example'

example-shards: build
	bash tests/pg/with-shards.sh --private bash examples/blog/run-shards.sh $(BUILD)/tools/dbont-migrate \
		examples/blog/shards-migrations $(BUILD)/examples/blog/blog-shards

install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)

golden: build
	sh tests/golden/update.sh $(BUILD)/generator/dbont-gen

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# make bench: Release (-O2) build, a throwaway PostgreSQL with 100k users and
# 1M posts, the generated code timed against hand-written libpq (and knex,
# drizzle-orm and pg when node is installed), then the query cache against
# the plain call, a raw Redis GET and SCAN-based invalidation (a private
# redis-server, stopped at the end); docs/performance.md explains it.  Not
# part of `make test`.  BENCH_RECORD=1 also writes the figures into
# docs/performance.md; BENCH_PARTS=cache runs the caching part alone.
.PHONY: bench
bench:
	CMAKE="$(CMAKE)" JOBS="$(JOBS)" bash bench/bench.sh
