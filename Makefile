# Two commands for a newcomer on Debian 12 (see README.md):
#   make demo   installs what is missing, builds, traces the built-in guest
#   make test   installs what is missing, builds, runs every test
BUILD ?= build
JOBS ?= $(shell nproc)
# Tests run in parallel: they wait on handshakes, not on time, so they hold
# when they share the cores with each other.
TEST_JOBS ?= $(JOBS)
CMAKE_FLAGS ?=

.PHONY: all deps build test test-unit test-e2e test-slow test-under-load sanitize tsan demo bench clean

all: build

# DEPS_ARGS: extra guest ISAs whose packages to install (--arch aarch64).
DEPS_ARGS ?=
deps:
	@bash scripts/install-deps.sh $(DEPS_ARGS)

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The aarch64 tests need its QEMU and cross compiler.
test test-e2e test-slow test-under-load: DEPS_ARGS = --arch aarch64

# Everything but the slow label (soak runs and long fuzzing).
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS) -LE slow

test-unit: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS) -L 'unit|cli|fuzz'

test-e2e: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(TEST_JOBS) -L e2e

# `make test` twice in a row with a busy loop on every host core (about an
# hour on 2 cores): the tests must hold when they get a share of the CPU.
test-under-load: build
	bash scripts/test-under-load.sh $(BUILD)

# Long fuzzing and soak runs.
test-slow: build
	ctest --test-dir $(BUILD) --output-on-failure -L slow

# The suite under AddressSanitizer and UBSan, in build-asan/. Left out: tests
# that load the (sanitized) plugin into QEMU, which has no sanitizer runtime
# (e2e, launcher_errors), and linking an unsanitized program against the
# sanitized library (install_package), and the Python reader (a module
# loaded into an unsanitized interpreter).
sanitize: deps
	cmake -S . -B build-asan -G Ninja -DQEMUTRACE_SANITIZE=ON -DQEMUTRACE_BENCH=OFF -DQEMUTRACE_PYTHON=OFF $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan --output-on-failure -LE 'slow|e2e' -E 'install_package|launcher_errors'

# The unit tests that run threads, under ThreadSanitizer, in build-tsan/:
# the writer's compression pool and the reader's prefetch thread
# (CompressionPool, Paths: a run's writer and its conversion threads,
# ZstdContext), the run manifest and its writer thread (RunWriterManifest),
# the plugin's phase machine and budgets driven by threads
# without QEMU (PhaseMachine), its control server (ControlServer). A race
# fails the test. By name, because the single-threaded round trips take
# 10-50x longer under the sanitizer and find nothing there; a new threaded
# test joins the list. The e2e tests load the plugin into QEMU, which has no
# sanitizer runtime. About 1 minute of tests after the build; .ci/run runs it.
TSAN_TESTS ?= CompressionPool|Paths|ZstdContext|ReaderReadError|PhaseMachine|ControlServer|QemuShim|RunWriterManifest
TSAN_OPTIONS ?= halt_on_error=1 second_deadlock_stack=1
tsan: deps
	cmake -S . -B build-tsan -G Ninja -DQEMUTRACE_TSAN=ON -DQEMUTRACE_BENCH=OFF -DQEMUTRACE_PYTHON=OFF $(CMAKE_FLAGS)
	cmake --build build-tsan -j $(JOBS) --target unit_tests
	TSAN_OPTIONS="$(TSAN_OPTIONS)" ctest --test-dir build-tsan --output-on-failure -L unit -R '$(TSAN_TESTS)'

demo: build
	$(BUILD)/bin/qemutrace demo

bench: build
	bash bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-tsan
