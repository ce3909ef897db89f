#!/usr/bin/env bash
# Builds operator-sdk and opm from Go modules into a cache keyed by tool and version
# (~/.cache/metallb-ts/olm-tools/<tool>-<version>/bin), and links them into .local/olm/bin.
# A no-op when the cache is warm; only `make validate-bundle` (and the OLM e2e) need these tools.
#
# `go install MODULE@VERSION` fails for these modules (the proxy refuses their version lists), so each tool is
# built inside its own wrapper module that pins the version, like test/cluster does for Kubernetes.
# Usage: build-tools.sh [operator-sdk|opm]...   (default: both)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${METALLB_OLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-ts/olm-tools}
link_dir="$repo/.local/olm/bin"

# build TOOL VERSION MODULE PACKAGE GO_DIRECTIVE
build() {
  local tool=$1 version=$2 module=$3 package=$4 go_directive=$5
  local cache="$cache_root/$tool-$version"
  mkdir -p "$link_dir"
  if [ -f "$cache/bin/.complete" ] && [ -x "$cache/bin/$tool" ]; then
    ln -sfn "$cache/bin/$tool" "$link_dir/$tool"
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
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$package" >"$cache/src/tools.go"
  (
    cd "$cache/src"
    go mod tidy
    # containers_image_openpgp: without it the image library wants the gpgme C library and fails late.
    CGO_ENABLED=0 go build -p 2 -trimpath -tags=json1,containers_image_openpgp -ldflags '-s -w' \
      -o "$cache/bin/$tool" "$package"
  )
  "$cache/bin/$tool" version >/dev/null
  touch "$cache/bin/.complete"
  ln -sfn "$cache/bin/$tool" "$link_dir/$tool"
  echo "$tool: built in $(( $(date +%s) - started ))s into $cache/bin"
}

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(operator-sdk opm)
for t in "${tools[@]}"; do
  case "$t" in
    operator-sdk)
      build operator-sdk "$OPERATOR_SDK_VERSION" github.com/operator-framework/operator-sdk \
        github.com/operator-framework/operator-sdk/cmd/operator-sdk "$OPERATOR_SDK_GO" ;;
    opm)
      build opm "$OPM_VERSION" github.com/operator-framework/operator-registry \
        github.com/operator-framework/operator-registry/cmd/opm "$OPM_GO" ;;
    *) echo "build-tools: unknown tool $t (operator-sdk, opm)" >&2; exit 2 ;;
  esac
done
