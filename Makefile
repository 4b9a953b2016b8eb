# Berth: build, demo, test, bench. Every target installs what it needs.
SWIFT       ?= swift
RELEASE_BIN := .build/release
DEBUG_BIN   := .build/debug
# Debian packages: the demo needs a static busybox; the tests also compare with
# runc's behaviour where useful and use iproute2 for joined network namespaces.
# berthd's networks use the CNI plugins (bridge, host-local, portmap) and iptables.
# berthd and berth link libcurl (registries), libarchive (layers), SQLite
# (metadata) and OpenSSL's libcrypto (digests).
BUILD_DEPS  := libseccomp-dev libcurl4-openssl-dev libarchive-dev libsqlite3-dev libssl-dev
RUN_DEPS    := busybox-static iproute2 iptables containernetworking-plugins jq python3 $(BUILD_DEPS)
# The image tests run a real CNCF registry (docker-registry), one with
# htpasswd auth (apache2-utils), and check interoperability with skopeo and umoci;
# openssl makes the test CA of the HTTPS registry, sqlite3 reads metadata.db;
# strace shows which system calls the runtime makes (MountTableTests).
TEST_DEPS   := $(RUN_DEPS) runc docker-registry apache2-utils skopeo umoci openssl sqlite3 strace
BENCH_DEPS  := $(RUN_DEPS) runc crun hyperfine time containerd docker-registry skopeo
DEMO_DIR    ?= /tmp/berth-demo

.PHONY: all build release deps demo test unit-test bench clean

all: release

deps:
	@scripts/install-deps.sh $(TEST_DEPS)

build:
	@scripts/install-deps.sh $(BUILD_DEPS)
	$(SWIFT) build

# berth-runtime is linked fully static (Swift stdlib and libc): no dynamic
# loader work at start-up, and about half the peak memory of a
# --static-swift-stdlib build (docs/runtime.md has the figures).
release:
	@scripts/install-deps.sh libseccomp-dev
	$(SWIFT) build -c release -Xswiftc -static-executable --product berth-runtime

demo: release
	@scripts/install-deps.sh $(RUN_DEPS)
	@scripts/demo.sh $(RELEASE_BIN)/berth-runtime $(DEMO_DIR)

# Unit tests, then the runtime suites (spec fixtures, lifecycle) against the
# real binary on the real kernel; they need root.
# The cgroup v2 suite runs the static release binary inside a VM.
# scripts/swift-test.sh repeats any failures at the end of the output.
test:
	@scripts/install-deps.sh $(TEST_DEPS)
	$(SWIFT) build -c release -Xswiftc -static-executable --product berth-runtime
	$(SWIFT) build --build-tests
	BERTH_RUNTIME=$(CURDIR)/$(DEBUG_BIN)/berth-runtime SWIFT=$(SWIFT) scripts/swift-test.sh --skip-build --skip DaemonServerTests
	# berthd's in-process server tests need Swift's cooperative thread pool
	# (two threads here) free for the server's request tasks; next to the
	# other suites, whose tests block threads on processes, they starve.
	SWIFT=$(SWIFT) scripts/swift-test.sh --skip-build --filter DaemonServerTests

bench: release
	@scripts/install-deps.sh $(BENCH_DEPS)
	$(SWIFT) build -c release -Xswiftc -static-executable --product berth-shim
	$(SWIFT) build -c release --static-swift-stdlib --product berthd
	# The CLI runs once per command: fully static, no dynamic loader and no
	# relocations against libstdc++ at each start (`berth --version` 7.7 → 4.1 ms).
	# It reaches berthd through a unix socket and resolves no users or hosts itself.
	$(SWIFT) build -c release -Xswiftc -static-executable --product berth
	$(SWIFT) build -c release --static-swift-stdlib --product berth-init
	bench/runtime.sh --berth $(CURDIR)/$(RELEASE_BIN)/berth-runtime
	bench/shim.sh --shim $(CURDIR)/$(RELEASE_BIN)/berth-shim --runtime $(CURDIR)/$(RELEASE_BIN)/berth-runtime
	bench/pull.sh --berthd $(CURDIR)/$(RELEASE_BIN)/berthd --berth $(CURDIR)/$(RELEASE_BIN)/berth
	bench/manager.sh --bin $(CURDIR)/$(RELEASE_BIN)

clean:
	rm -rf .build
