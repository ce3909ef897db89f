# The front door: every script and CI step goes through these targets.
SHELL := /bin/bash
NPM_BIN := node_modules/.bin

.PHONY: all system-deps deps generate verify-generated update-k8s-types build lint format test e2e ci \
	cluster-bins cluster-up cluster-down cluster-status demo demo-down unit bench clean \
	bundle olm-tools olm-runtime olm-up olm-down validate-bundle deploy undeploy check-alerts images

all: build

## system-deps: the Debian packages the build, tests and demo need (FRR, libpcap, arping, ...), installed once
system-deps:
	bash scripts/system-deps.sh

deps: system-deps node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

## generate: regenerate crds/ and src/api/ from the JSON Schemas in api/, then the install (config/, bundle/,
## bundle.Dockerfile, catalog/) from src/manifests/install, and config/prometheus/, config/grafana/ from src/monitoring/
generate: deps
	node --import tsx scripts/generate.ts
	node --import tsx scripts/generate-install.ts
	node --import tsx scripts/monitoring.ts

## verify-generated: fail when crds/, src/api/, config/, bundle/ or catalog/ differ from what their sources generate
verify-generated: deps
	node --import tsx scripts/generate.ts --check
	node --import tsx scripts/generate-install.ts --check
	node --import tsx scripts/monitoring.ts --check

## check-alerts: promtool checks the generated alert rules and runs their unit tests (test/prometheus/)
check-alerts: system-deps
	promtool check rules config/prometheus/rules.yaml
	cd test/prometheus && promtool test rules *.test.yaml

## images: the product and FRR images, FROM scratch on this machine's own files, as OCI archives in .local/images/
## (buildah and tini come from an opt-in package set, installed here only)
images: build
	bash scripts/system-deps.sh images
	node --import tsx scripts/images/build.ts

## bundle: regenerate the OLM bundle and catalog (with the rest of the generated files)
bundle: generate

## olm-tools: build operator-sdk, opm and OLM's olm and catalog operators from Go modules (cached in
## ~/.cache/metallb-ts/olm-tools; cold, about 20 minutes on 2 cores), with OLM's CRDs
olm-tools:
	bash test/olm/build-tools.sh

## olm-runtime: only what the OLM e2e runs (opm, OLM's olm and catalog operators); operator-sdk, the slowest
## to build, is for validate-bundle alone
olm-runtime:
	bash test/olm/build-tools.sh opm olm

## olm-up: a real OLM next to `make cluster-up` (OLM's CRDs, its olm and catalog operators as processes,
## `opm serve catalog/` behind the CatalogSource olm/metallb-operators); stops with the cluster
olm-up: build olm-runtime
	node dist/test/olm/cli.js up

olm-down: build
	node dist/test/olm/cli.js down

OLM_BIN := .local/olm/bin
## validate-bundle: the ecosystem's own validators on bundle/ and catalog/, and catalog/ against `opm render`
validate-bundle: deps olm-tools
	$(OLM_BIN)/operator-sdk bundle validate ./bundle --select-optional suite=operatorframework
	$(OLM_BIN)/opm validate catalog/
	node --import tsx scripts/check-catalog-render.ts $(OLM_BIN)/opm

# The kubectl the project builds, unless KUBECTL names another.
KUBECTL ?=
kubectl = $(or $(KUBECTL),$$(cat .local/cluster/bin-source)/kubectl)
## deploy: install CRDs, RBAC, the operator and the webhook into the cluster of $$KUBECONFIG (kubectl apply -k)
deploy: cluster-bins
	$(kubectl) apply --server-side -k config/default

## undeploy: remove everything `make deploy` installed
undeploy: cluster-bins
	$(kubectl) delete --ignore-not-found -k config/default

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

## test: unit tests, then the end-to-end suites against a local control plane (the OLM e2e needs olm-runtime)
test: build cluster-bins olm-runtime
	npm run --silent test
	npm run --silent e2e

## unit: unit tests only (no control plane needed)
unit: deps
	npm run --silent test

## e2e: end-to-end suites against a local control plane started for the run
e2e: build cluster-bins olm-runtime
	npm run --silent e2e

## cluster-bins: build etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok (cached)
cluster-bins:
	bash test/cluster/build-bins.sh

## cluster-up: start a local control plane in the background (idempotent); kubeconfig in .local/cluster/kubeconfig
cluster-up: build cluster-bins
	node dist/test/cluster/cli.js up

cluster-down: build
	node dist/test/olm/cli.js down
	node dist/test/cluster/cli.js down

cluster-status: build
	node dist/test/cluster/cli.js status

## demo: the product's main job on the embedded default, installed through a real OLM by Subscription
## (DEMO_FLAGS=--keep leaves it running)
demo: build cluster-bins olm-runtime
	node dist/test/cluster/demo.js $(DEMO_FLAGS)

demo-down: build
	node dist/test/cluster/demo.js --down

ci:
	bash .ci/run

clean:
	rm -rf dist coverage
