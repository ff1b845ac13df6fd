GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.Version=$(VERSION)
GOBUILD := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'

.PHONY: all build test scale soak demo deps vet fuzz compat compat-dump deb deb-test bench bench-parse bench-vrrp bench-ipvs bench-check bench-daemon bench-dataplane bench-bfd clean

all: build

build:
	$(GOBUILD) -o bin/keepalived ./cmd/keepalived
	$(GOBUILD) -o bin/genhash ./cmd/genhash

deps:
	@./scripts/deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# The whole suite: unit, simulation, namespace, interop and VM tests. As root
# on Debian it first installs what the real-peer tests need. Packages run one
# at a time (-p 1): several tests measure failover and advert timing on the
# wire, and two cores shared between packages would make those measurements
# about the machine rather than the daemon.
test: deps build vet
	$(GO) test -race -count=1 -p 1 -timeout 25m ./...

# Scale and endurance runs kept out of `make test` (about three minutes):
# the nftables plane with 50,000 real servers (backend and daemon, with a
# 75 s forced failure), and 2,000 idle metrics clients until the idle
# timeout has closed them. Root.
scale: build
	KGNFT_SCALE=1 KG_SCALE=1 $(GO) test -count=1 -v -timeout 20m \
		-run 'TestKernelScale|TestNFTScale|TestMetricsIdleClients' ./lvs/nft ./cmd/keepalived

# Two nodes of our daemon under continuous HTTP traffic through their VIP
# while a seeded random schedule injects faults (link down, SIGKILL and
# restart, SIGHUP with good and bad files, loss and delay, SIGSTOP; the
# address and VIP removals with SOAK_FAULTS=all); fails on two VIP holders
# outside a partition for more than an advert interval, none for more than
# Master_Down_Interval + 1 s, a fault not acted on, a crash or growth of
# descriptors, goroutines or memory. The seed and schedule are printed:
# SOAK_SEED=<seed> replays a run. Root. Not part of make test.
SOAK_DURATION ?= 20m
SOAK_SEED     ?= 0
SOAK_FAULTS   ?= default
soak: deps
	KG_SOAK=1 $(GO) test -count=1 -v -timeout 0 -run '^TestSoak$$' ./e2e/soak \
		-soak.duration=$(SOAK_DURATION) -soak.seed=$(SOAK_SEED) -soak.faults=$(SOAK_FAULTS)

# The main job: the seed scenario (for now: what the parser makes of it).
demo: deps build
	@./scripts/demo.sh

# Fuzz the lexer+parser and the BFD packet decoder (FUZZTIME=60s each by default).
FUZZTIME ?= 60s
fuzz:
	$(GO) test ./parser -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./bfd/packet -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)

# Benchmarks print tables with ratios against keepalived measured in the same run.
bench: bench-parse bench-vrrp bench-ipvs bench-check bench-daemon bench-dataplane bench-bfd

bench-parse: deps build
	@./bench/parse.sh

bench-vrrp: deps build
	@./bench/vrrp.sh

bench-ipvs: deps build
	@./bench/ipvs.sh

bench-check: deps build
	@./bench/check.sh

bench-daemon: deps build
	@./bench/daemon.sh

bench-dataplane: deps build
	@./bench/dataplane.sh

bench-bfd: deps build
	@./bench/bfd.sh

# keepalived-go against Debian's keepalived on the corpus (root; not part of
# `make test`). compat compares `-t` verdicts and diagnostics, compat-dump the
# SIGUSR1 data dumps of both daemons started on each config. Pass options in
# COMPAT_ARGS, e.g. COMPAT_ARGS='-run man5/ -v' or '-record'. tools/compat/README.md.
compat: deps build
	$(GO) run ./tools/compat -ours bin/keepalived $(COMPAT_ARGS)

compat-dump: deps build
	$(GO) run ./tools/compat -mode dump -ours bin/keepalived $(COMPAT_ARGS)

# The Debian package (dist/keepalived-go_<version>_amd64.deb).
deb: build
	VERSION=$(VERSION) ./scripts/deb.sh

# lintian and the Debian 12 chroot replace/purge test (root; the chroot is cached).
deb-test: deb
	lintian --fail-on error --profile debian dist/keepalived-go_*_amd64.deb
	./scripts/deb-chroot-test.sh dist/keepalived-go_*_amd64.deb

clean:
	rm -rf bin dist
