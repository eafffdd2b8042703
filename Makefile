# Landform. `make test` is the command CI runs (via .ci/run); `make demo` runs
# Landform's main job on embedded defaults.
GO ?= go
# The tests' extras: the forge tests run against a real Gitea, which setup
# builds once (cgo, a few minutes) into .tools/, and the dashboard's tests
# drive Debian's headless Chromium, which setup installs; the S3 plan store's
# tests run against versitygw (built once), the PostgreSQL store's against
# PostgreSQL 15 (Debian's, installed when missing). The demo needs none.
SETUP_FLAGS ?= --with gitea --with chromium --with s3 --with postgres

.PHONY: setup test fuzz build demo bench fmt

setup:
	scripts/setup

test:
	scripts/setup $(SETUP_FLAGS)
	$(GO) vet ./...
	$(GO) test ./...
	$(MAKE) --no-print-directory fuzz

# A short run of each parser fuzzer (their seed corpora already run in
# `go test`); FUZZTIME=2000000x for a longer hunt. A count, not a duration:
# Go 1.26's fuzz coordinator can fail a duration-bounded run with a bare
# "context deadline exceeded" when its deadline races a busy worker
# (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline.
FUZZTIME ?= 20000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseRepo$$' -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz '^FuzzParseServer$$' -fuzztime $(FUZZTIME) ./config/
	$(GO) test -run '^$$' -fuzz '^FuzzReferences$$' -fuzztime $(FUZZTIME) ./modules/
	$(GO) test -run '^$$' -fuzz '^FuzzParseWebhook$$' -fuzztime $(FUZZTIME) ./forge/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyWebhook$$' -fuzztime $(FUZZTIME) ./forge/
	$(GO) test -run '^$$' -fuzz '^FuzzRenderPreview$$' -fuzztime 2000x ./report/
	$(GO) test -run '^$$' -fuzz '^FuzzJSONValue$$' -fuzztime $(FUZZTIME) ./policies/
	$(GO) test -run '^$$' -fuzz '^FuzzParseComment$$' -fuzztime $(FUZZTIME) ./chatops/
	$(GO) test -run '^$$' -fuzz '^FuzzVerifySlack$$' -fuzztime $(FUZZTIME) ./chatops/

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
