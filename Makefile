# shelfsync: build, test, benchmark. `make test` is exactly what CI runs
# (.ci/run) and what the README's test command does.

GO       ?= go
BIN      ?= bin/shelfsync
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)

.PHONY: all test vet build bench fuzz footprint chaos clean

all: test build

## test: a Redis when none answers (.ci/redis.sh), go vet, then every test with the race detector;
## the shared conformance fixtures are checked too when ../shared lies beside the repo
test:
	bash .ci/redis.sh
	if [ -d ../shared/conformance/fixtures ]; then export SHELFSYNC_FIXTURES="$$(cd ../shared/conformance/fixtures && pwd)"; fi; \
	$(GO) vet ./... && $(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(GO) vet ./...

## build: the production binary (-tags nosim: no simulator), stamped with version and revision
build:
	CGO_ENABLED=0 $(GO) build -trimpath -tags nosim -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/shelfsync

## chaos: the chaos suite's long form (sync/chaos/README.md): ten daemon kills, two rounds of every
## Redis and channel fault, one after the other, with the table of BENCHMARKS.md; about 8-10 minutes.
## Needs redis-server (the suite starts its own); `make test` runs the short form.
chaos:
	CHAOS=long $(GO) test -count=1 -v -timeout 60m -run 'TestChaos$$' ./sync/chaos/

## bench: every benchmark, no tests
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: a short run of the config parser's fuzz test
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 10s ./config/

## footprint: per connector, the files outside its folder that name it (a new connector: connectors/all only)
footprint:
	$(GO) test -count=1 -v -run TestConnectorFootprint ./internal/codeshape/

clean:
	rm -rf bin
