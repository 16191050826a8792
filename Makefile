# CodeBuddy — `make run` starts the server on the embedded defaults, `make test` runs everything.
GO       ?= go
NPM      ?= npm
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
WEB_SRC  := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/package.json web/vite.config.ts web/tsconfig.json
GOTESTFLAGS ?=

.PHONY: run build web test test-go test-web test-e2e lighthouse vet bench load clean

run: web/dist/index.html
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/codebuddy serve

build: web/dist/index.html
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/codebuddy ./cmd/codebuddy

web: web/dist/index.html

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund
	@touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && $(NPM) run build

test: vet test-go test-web test-e2e

vet:
	$(GO) vet ./...

# Every Go test with the race detector; each package prints its coverage.
test-go:
	$(GO) test -race -cover -timeout 30m $(GOTESTFLAGS) ./...

test-web: web/node_modules/.package-lock.json
	cd web && $(NPM) test

# Browser tests: two users in Debian chromium (CODEBUDDY_TEST_CHROMIUM or
# /usr/bin/chromium) against the freshly built binary. Screenshots land in
# web/e2e/artifacts.
test-e2e: build
	cd web && CODEBUDDY_BIN=../bin/codebuddy $(NPM) run e2e

# Lighthouse (mobile) over the log-in page and a playground: exits non-zero
# when Performance < 95, Accessibility or Best Practices < 100, or the
# playground's initial JavaScript > 300 KB gzip.
lighthouse: build
	cd web && CODEBUDDY_BIN=../bin/codebuddy $(NPM) run lighthouse

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

# Real-time load test (loadtest/collab): 200 writers on one file, or LOADFLAGS="-mode idle".
load:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/codebuddy ./cmd/codebuddy
	$(GO) run ./loadtest/collab -bin bin/codebuddy $(LOADFLAGS)

clean:
	rm -rf bin coverage web/dist/assets web/dist/index.html
