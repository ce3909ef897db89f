#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok from Go modules
# into a cache keyed by version, and links them into .local/cluster/bin. A no-op when the cache is warm.
#
# k8s.io/kubernetes cannot be `go install`ed directly: its go.mod points every staging module at ./staging.
# So we build inside a wrapper module that requires it and replaces each staging module with the published
# v0.X.Y of the same release. The staging list is read from the tag's own go.mod, never typed by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${METALLB_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metallb-ts/cluster-bins}
key="k8s-${K8S_VERSION}_kwok-${KWOK_VERSION}"
cache="$cache_root/$key"
link_dir="$repo/.local/cluster/bin"
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

link_bins() {
  mkdir -p "$link_dir"
  for b in "${bins[@]}" kwok-stages.yaml; do ln -sfn "$cache/bin/$b" "$link_dir/$b"; done
  echo "$cache/bin" >"$repo/.local/cluster/bin-source"
}

# kwok ships no default Stages: take the "fast" node and pod stages and the lease heartbeat from the kwok
# module itself, so simulated Nodes turn Ready and bound Pods Running, as a kubelet would make them.
write_kwok_stages() {
  [ -f "$cache/bin/kwok-stages.yaml" ] && return 0
  local dir
  dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  local stages="$dir/kustomize/stage"
  local out="$cache/bin/kwok-stages.yaml.tmp"
  : >"$out"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [ -f "$stages/$f" ] || { echo "build-bins: kwok stage $f missing in $stages" >&2; exit 1; }
    { echo "---"; cat "$stages/$f"; } >>"$out"
  done
  mv "$out" "$cache/bin/kwok-stages.yaml"
}

if [ -f "$cache/bin/.complete" ]; then
  write_kwok_stages
  link_bins
  echo "cluster binaries: cached in $cache/bin"
  exit 0
fi

command -v go >/dev/null || { echo "build-bins: Go is needed to build the control plane (not found on PATH)" >&2; exit 1; }
started=$(date +%s)
work="$cache/src"
rm -rf "$work" "$cache/bin"
mkdir -p "$work" "$cache/bin"

minor=$(echo "$K8S_VERSION" | cut -d. -f2)
staging_version="v0.${K8S_VERSION#v1.}"
upstream_gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[ -f "$upstream_gomod" ] || { echo "build-bins: could not download k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
go_directive=$(sed -n 's/^go \(.*\)$/\1/p' "$upstream_gomod")

{
  echo "module local/metallb-ts/cluster-bins"
  echo
  echo "go $go_directive"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  sed -n "s#^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\) => ./staging/src/.*#\t\1 => \1 $staging_version#p" "$upstream_gomod"
  echo ")"
} >"$work/go.mod"
cp "$here/go/tools.go" "$work/tools.go"
echo "build-bins: wrapper module for $K8S_VERSION with $(grep -c '=> k8s.io' "$work/go.mod") staging replacements"

cd "$work"
go mod tidy
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
export CGO_ENABLED=0
go build -trimpath -ldflags "$ldflags" -o "$cache/bin/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
go build -trimpath -ldflags "-s -w" -o "$cache/bin/etcd" go.etcd.io/etcd/server/v3
# kwok's go.mod has no replace directives, so a plain versioned install works.
GOBIN="$cache/bin" go install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"

for b in "${bins[@]}"; do [ -x "$cache/bin/$b" ] || { echo "build-bins: $b was not built" >&2; exit 1; }; done
write_kwok_stages
touch "$cache/bin/.complete"
link_bins
echo "cluster binaries: built in $(( $(date +%s) - started ))s into $cache/bin"
