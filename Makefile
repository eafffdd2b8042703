# Landform. `make test` is the command CI runs (via .ci/run); `make demo` runs
# Landform's main job on embedded defaults.
GO ?= go
SETUP_FLAGS ?=

.PHONY: setup test fuzz build demo bench fmt

setup:
	scripts/setup $(SETUP_FLAGS)

test: setup
	$(GO) vet ./...
	$(GO) test ./...
	$(MAKE) --no-print-directory fuzz

# A short run of each parser fuzzer (their seed corpora already run in
# `go test`); FUZZTIME=5m for a longer hunt.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseRepo$$' -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz '^FuzzParseServer$$' -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz '^FuzzReferences$$' -fuzztime $(FUZZTIME) ./modules/

build:
	$(GO) build -o bin/landform ./cmd/landform

demo: setup build
	./bin/landform demo

# The benchmarks of docs/benchmarks.md (about 10 minutes; the machine should
# be otherwise idle). BENCH narrows them, e.g. BENCH=Affected.
BENCH ?= .
BENCHTIME ?= 20x
bench: setup
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -timeout 60m ./test/bench/

fmt:
	gofmt -w $$(git ls-files '*.go')
