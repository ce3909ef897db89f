#!/usr/bin/env bash
# Builds operator-sdk, opm and OLM's own operators (olm, catalog) from Go modules into a cache keyed by tool and
# version (~/.cache/metallb-ts/olm-tools/<tool>-<version>/bin), and links them into .local/olm/bin.
# A no-op when the cache is warm; `make validate-bundle`, `make olm-up` and the OLM e2e need these tools.
#
# `go install MODULE@VERSION` fails for these modules (the proxy refuses their version lists), so each tool is
# built inside its own wrapper module that pins the version, like test/cluster does for Kubernetes.
# Usage: build-tools.sh [operator-sdk|opm|olm]...   (default: all; `olm` builds both the olm and catalog binaries)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${METALLB_OLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-ts/olm-tools}
link_dir="$repo/.local/olm/bin"

# link_binaries CACHE_BIN BINARY...
link_binaries() {
  local bin=$1 b
  shift
  for b in "$@"; do ln -sfn "$bin/$b" "$link_dir/$b"; done
}

# build TOOL VERSION MODULE GO_DIRECTIVE PACKAGE...
# Each package's binary is named after its last path element; one wrapper module (and one go.sum) per tool.
build() {
  local tool=$1 version=$2 module=$3 go_directive=$4
  shift 4
  local packages=("$@") binaries=() p
  for p in "${packages[@]}"; do binaries+=("${p##*/}"); done
  local cache="$cache_root/$tool-$version"
  mkdir -p "$link_dir"
  local all_present=1
  for p in "${binaries[@]}"; do [ -x "$cache/bin/$p" ] || all_present=0; done
  if [ -f "$cache/bin/.complete" ] && [ $all_present = 1 ]; then
    link_binaries "$cache/bin" "${binaries[@]}"
    echo "$tool: cached in $cache/bin"
    return 0
  fi
  command -v go >/dev/null || { echo "build-tools: Go is needed to build $tool (not found on PATH)" >&2; exit 1; }
  local started
  started=$(date +%s)
  mkdir -p "$cache/src" "$cache/bin"
  rm -f "$cache/bin/.complete"
  # Keep a go.sum from an earlier attempt: `go mod tidy` then only fills what is missing.
  if ! grep -q "^require $module $version\$" "$cache/src/go.mod" 2>/dev/null; then
    printf 'module local/metallb-ts/olm-tools/%s\n\ngo %s\n\nrequire %s %s\n' \
      "$tool" "$go_directive" "$module" "$version" >"$cache/src/go.mod"
  fi
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in "${packages[@]}"; do printf '\t_ "%s"\n' "$p"; done
    printf ')\n'
  } >"$cache/src/tools.go"
  (
    cd "$cache/src"
    go mod tidy
    # containers_image_openpgp: without it the image library wants the gpgme C library and fails late.
    # With several packages, -o names a directory and each binary is named after its package.
    local out="$cache/bin/${binaries[0]}"
    [ ${#packages[@]} -eq 1 ] || out="$cache/bin/"
    CGO_ENABLED=0 go build -p 2 -trimpath -tags=json1,containers_image_openpgp -ldflags '-s -w' \
      -o "$out" "${packages[@]}"
  )
  for p in "${binaries[@]}"; do "$cache/bin/$p" --help >/dev/null 2>&1 || "$cache/bin/$p" version >/dev/null; done
  touch "$cache/bin/.complete"
  link_binaries "$cache/bin" "${binaries[@]}"
  echo "$tool: built in $(( $(date +%s) - started ))s into $cache/bin"
}

# olm_crds VERSION: OLM's CRDs from the same module, kept beside its binaries (the module cache may be cleaned)
olm_crds() {
  local cache="$cache_root/olm-$1"
  if [ ! -f "$cache/crds/.complete" ]; then
    local module_dir
    module_dir=$(cd "$cache/src" && go list -m -f '{{.Dir}}' github.com/operator-framework/operator-lifecycle-manager)
    rm -rf "$cache/crds"
    mkdir -p "$cache/crds"
    cp "$module_dir"/deploy/chart/crds/*.yaml "$cache/crds/"
    chmod u+w "$cache/crds"/*.yaml
    touch "$cache/crds/.complete"
  fi
  ln -sfn "$cache/crds" "$repo/.local/olm/crds"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(operator-sdk opm olm)
for t in "${tools[@]}"; do
  case "$t" in
    operator-sdk)
      build operator-sdk "$OPERATOR_SDK_VERSION" github.com/operator-framework/operator-sdk "$OPERATOR_SDK_GO" \
        github.com/operator-framework/operator-sdk/cmd/operator-sdk ;;
    opm)
      build opm "$OPM_VERSION" github.com/operator-framework/operator-registry "$OPM_GO" \
        github.com/operator-framework/operator-registry/cmd/opm ;;
    olm)
      build olm "$OLM_VERSION" github.com/operator-framework/operator-lifecycle-manager "$OLM_GO" \
        github.com/operator-framework/operator-lifecycle-manager/cmd/olm \
        github.com/operator-framework/operator-lifecycle-manager/cmd/catalog
      olm_crds "$OLM_VERSION" ;;
    *) echo "build-tools: unknown tool $t (operator-sdk, opm, olm)" >&2; exit 2 ;;
  esac
done
