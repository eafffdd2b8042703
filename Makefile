# Landform. `make test` is the command CI runs (via .ci/run); `make demo` runs
# Landform's main job on embedded defaults.
GO ?= go
SETUP_FLAGS ?=

.PHONY: setup test build demo bench fmt

setup:
	scripts/setup $(SETUP_FLAGS)

test: setup
	$(GO) vet ./...
	$(GO) test ./...

build:
	$(GO) build -o bin/landform ./cmd/landform

demo: setup build
	./bin/landform demo

fmt:
	gofmt -w $$(git ls-files '*.go')
