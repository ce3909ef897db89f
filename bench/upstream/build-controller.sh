#!/usr/bin/env bash
# Builds upstream MetalLB's controller from its public repository, for the side-by-side run of
# bench/controller-e2e.ts (--compare). Nothing of upstream lands in this checkout: the source and the binary
# live under $METALLB_UPSTREAM_DIR (default ~/.cache/metallb-ts/upstream-metallb).
#
#   bench/upstream/build-controller.sh [<git ref>]     # default ref: the remote's HEAD
#
# Source: $METALLB_UPSTREAM_GIT_DIR if set (a bare git dir, e.g. a mirror), else a shallow clone of
# https://github.com/metallb/metallb. Go modules come through GOPROXY as configured (go env GOPROXY).
# Idempotent: a binary already built from the same commit is reused. Prints the binary's path last, after
# a line "upstream metallb <describe> (<commit>)".
set -euo pipefail

dir=${METALLB_UPSTREAM_DIR:-$HOME/.cache/metallb-ts/upstream-metallb}
ref=${1:-HEAD}
mkdir -p "$dir"

if [[ -n ${METALLB_UPSTREAM_GIT_DIR:-} ]]; then
  git_dir=$METALLB_UPSTREAM_GIT_DIR
else
  git_dir=$dir/repo.git
  if [[ ! -d $git_dir ]]; then
    git clone --bare --filter=blob:none https://github.com/metallb/metallb "$git_dir" >&2
  fi
fi

commit=$(git --git-dir="$git_dir" rev-parse "$ref^{commit}")
describe=$(git --git-dir="$git_dir" describe --tags "$commit" 2>/dev/null || echo "$commit")
src=$dir/src-$commit
bin=$dir/controller-$commit

if [[ ! -x $bin ]]; then
  if [[ ! -f $src/go.mod ]]; then
    rm -rf "$src.tmp"
    mkdir -p "$src.tmp"
    git --git-dir="$git_dir" archive "$commit" | tar -x -C "$src.tmp"
    mv "$src.tmp" "$src"
  fi
  start=$(date +%s)
  (cd "$src" && go build -o "$bin.tmp" ./controller)
  mv "$bin.tmp" "$bin"
  echo "built in $(($(date +%s) - start)) s with $(go version)" >&2
fi
ln -sfn "$(basename "$src")" "$dir/src-current"
ln -sfn "$(basename "$bin")" "$dir/controller"
echo "upstream metallb $describe ($commit)"
echo "CRDs: $dir/src-current/config/crd/bases"
echo "$dir/controller"
