# Portico: `make run` starts everything locally; `make test` runs the whole suite.
SHELL := /bin/bash
PG := scripts/pg.sh
export PORTICO_PG_PORT ?= 54329
SWIFT_BUILD_FLAGS ?=

.PHONY: build run test test-only fuzz bench bench-dashboard bench-micro bench-scale pg-start pg-stop migrate clean format lint

# Tests and the binary share one build: `--build-tests` everywhere keeps switching between them incremental.
build:
	swift build --build-tests $(SWIFT_BUILD_FLAGS)

## Local PostgreSQL (installed if missing), migrations, a demo upstream and API, then `portico serve`.
run: build pg-start
	scripts/run.sh

## The whole suite against a real PostgreSQL; each test gets a fresh database, all dropped after.
test: pg-start
	scripts/test.sh

## libFuzzer on the parsers that read what strangers send (FUZZ_SECONDS each, default 60): Fuzz/README.md.
fuzz:
	scripts/fuzz.sh

## Gateway side by side with nginx and HAProxy under wrk (release build): bench/results/latest.md.
bench: pg-start
	bench/gateway.sh

## Microbenchmarks of the gateway's per-request pieces (time and allocations per operation): bench/results/micro.txt.
bench-micro:
	set -o pipefail; swift package --disable-sandbox benchmark --target GatewayHotPath --no-progress | tee .build/bench-micro.log
	{ echo "Gateway microbenchmarks, $$(date -u '+%Y-%m-%d %H:%M UTC'), $$(nproc) cores; release build."; \
	  sed -n '/^Running Benchmarks$$/,$$p' .build/bench-micro.log; } >bench/results/micro.txt

## The policy at scale (PORTICO_SCALE_KEYS, default a million keys): ready time, memory, a new key's delay: bench/results/scale.md.
bench-scale: pg-start
	bench/scale.sh

## Each dashboard page against a 10 000-user database, median time against the 200 ms target.
bench-dashboard: pg-start
	bench/dashboard.sh

FORMATTED := Sources Tests Benchmarks Package.swift Fuzz

## Rewrites the Swift sources in the project's style (`.swift-format`, with the toolchain's `swift format`).
format:
	swift format format --in-place --recursive --parallel $(FORMATTED)

## Fails on any line that `make format` would change or any rule of `.swift-format` a change breaks.
lint:
	swift format lint --strict --recursive --parallel $(FORMATTED)

pg-start:
	$(PG) start

pg-stop:
	$(PG) stop

migrate: build pg-start
	$(PG) createdb portico
	DATABASE_URL=$$($(PG) url portico) .build/debug/portico migrate

clean:
	rm -rf .build .data
