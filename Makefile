# The front door: every script and CI step goes through these targets.
SHELL := /bin/bash
NPM_BIN := node_modules/.bin

.PHONY: all system-deps deps generate verify-generated update-k8s-types build lint format test e2e ci \
	cluster-bins cluster-up cluster-down cluster-status demo demo-down unit bench clean check-alerts

all: build

## system-deps: the Debian packages the build, tests and demo need (FRR, libpcap, arping, ...), installed once
system-deps:
	bash scripts/system-deps.sh

deps: system-deps node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

## generate: regenerate crds/ and src/api/ from the JSON Schemas in api/, config/prometheus/ from src/monitoring/
generate: deps
	node --import tsx scripts/generate.ts
	node --import tsx scripts/monitoring.ts

## verify-generated: fail when crds/, src/api/ or config/prometheus/ differ from what their sources generate
verify-generated: deps
	node --import tsx scripts/generate.ts --check
	node --import tsx scripts/monitoring.ts --check

## check-alerts: promtool checks the generated alert rules and runs their unit tests (test/prometheus/)
check-alerts: system-deps
	promtool check rules config/prometheus/rules.yaml
	cd test/prometheus && promtool test rules *.test.yaml

## update-k8s-types: refresh api/k8s/ from the Kubernetes OpenAPI of the control-plane version (needs Go)
update-k8s-types: deps
	node --import tsx scripts/k8s-types.ts

build: deps
	$(NPM_BIN)/tsc -p tsconfig.build.json

lint: deps
	$(NPM_BIN)/eslint .
	$(NPM_BIN)/prettier --check .
	$(NPM_BIN)/tsc -p tsconfig.json --noEmit

format: deps
	$(NPM_BIN)/prettier --write .

## test: unit tests, then the end-to-end suites against a local control plane
test: build cluster-bins
	npm run --silent test
	npm run --silent e2e

## unit: unit tests only (no control plane needed)
unit: deps
	npm run --silent test

## e2e: end-to-end suites against a local control plane started for the run
e2e: build cluster-bins
	npm run --silent e2e

## cluster-bins: build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok (cached)
cluster-bins:
	bash test/cluster/build-bins.sh

## cluster-up: start a local control plane in the background (idempotent); kubeconfig in .local/cluster/kubeconfig
cluster-up: build cluster-bins
	node dist/test/cluster/cli.js up

cluster-down: build
	node dist/test/cluster/cli.js down

cluster-status: build
	node dist/test/cluster/cli.js status

## demo: the product's main job on the embedded default (DEMO_FLAGS=--keep leaves it running)
demo: build cluster-bins
	node dist/test/cluster/demo.js $(DEMO_FLAGS)

demo-down: build
	node dist/test/cluster/demo.js --down

ci:
	bash .ci/run

clean:
	rm -rf dist coverage
