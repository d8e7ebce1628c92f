# The ledger's developer commands. PostgreSQL comes from scripts/pg-env.sh: the server at
# 127.0.0.1:5432 if one answers, else a project-local one in .data/pg started from the
# installed binaries, else a message saying what to install.
#
#   make run     the server with the demo data (embedded NATS, local PostgreSQL)
#   make test    go vet, then the whole suite against real PostgreSQL and NATS
#
# Variables: FUZZTIME (make fuzz), SOAKTIME (make soak). make bench takes BENCH_QUICK=1
# (under 2 minutes, 100k events) or BENCH_FULL=1 (10 million events) from the environment.

SHELL := /bin/bash
GO ?= go
FUZZTIME ?= 30s
SOAKTIME ?= 10m
# The whole suite takes seconds; the limit catches a hung test, not a slow one.
TEST_TIMEOUT ?= 15m
# The race detector slows tests down several times on two cores.
RACE_TIMEOUT ?= 45m

# staticcheck, pinned (release 2026.2.2 is module version v0.8.2). `go run` fetches it
# through the module proxy on first use, so a fresh machine needs nothing installed, and
# it stays out of go.mod.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

# PG_ENV exports LEDGER_DATABASE_URL and LEDGER_TEST_DATABASE_URL, or stops the recipe.
PG_ENV = set -euo pipefail; pg_env="$$(scripts/pg-env.sh)"; eval "$$pg_env";

.PHONY: run test test-race bench lint fuzz soak build clean pg-stop

# The admin token `make run` defines (LEDGER_BOOTSTRAP_TOKEN); the README's examples use
# it. It is for a local demo only: set your own, of at least 16 characters, anywhere else.
DEMO_BOOTSTRAP_TOKEN ?= demo-admin-token-change-me

run:
	@echo "bootstrap admin token (sign in to the dashboard with it; T in the README's examples): $(DEMO_BOOTSTRAP_TOKEN)"
	@mkdir -p .data; [ -f .data/signing-key.pem ] || $(GO) run ./cmd/ledger keys --generate --out .data/signing-key.pem
	@$(PG_ENV) LEDGER_BOOTSTRAP_TOKEN="$(DEMO_BOOTSTRAP_TOKEN)" $(GO) run ./cmd/ledger serve --demo --signing-key .data/signing-key.pem

test:
	$(GO) vet ./...
	@$(PG_ENV) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

test-race:
	@$(PG_ENV) $(GO) test -race -count=1 -timeout $(RACE_TIMEOUT) ./...

# The goals of docs/benchmarks.md with their same-run baselines (cmd/ledger/bench.go);
# docs/benchmarks.md records a run. Writes bench-results.json.
bench:
	@$(PG_ENV) $(GO) run ./cmd/ledger bench

lint:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then \
		echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) -tags soak ./... # soak adds the soak tests and removes nothing
	GO=$(GO) scripts/validate-deploy.sh

fuzz:
	@$(PG_ENV) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# The long fault runs (docs/reliability.md): ≥ 50 kill -9 cycles and repeated PostgreSQL
# crashes under load, judged by internal/checker. SOAKTIME bounds the whole run.
soak:
	@$(PG_ENV) LEDGER_SOAK=1 $(GO) test -tags soak -count=1 -timeout $(SOAKTIME) -v -run 'Soak|PostgresCrash|NATSOutage|ClientTimeout|CheckerCatches' ./cmd/ledger

build:
	$(GO) build -o bin/ledger ./cmd/ledger

# Stops the project-local PostgreSQL, if scripts/pg-env.sh started one; .data/ keeps its data.
pg-stop:
	@scripts/pg-env.sh --stop

clean:
	rm -rf bin/
	$(GO) clean -testcache
