#!/usr/bin/env bash
# Installs the pinned kustomize that builds k8s/overlays/* (tests/k8s) into a cache outside the
# work tree, once; prints the binary's path on stdout. Idempotent: a second run only prints.
#
#   bash scripts/k8s-tools.sh            # install if missing, print the path
#   KUSTOMIZE=$(bash scripts/k8s-tools.sh) && "$KUSTOMIZE" build k8s/overlays/prod
#
# kustomize comes from the Go module proxy (`go install`); v5.8.2 is the newest release whose
# go.mod the machine's Go (1.26) accepts without fetching another toolchain. The cache is keyed
# by version, so a fresh clone on the same machine reuses it; POSTWAVE_TOOLS_DIR moves it.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.2

tools_dir="${POSTWAVE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/postwave-tools}"
dir="$tools_dir/kustomize-$KUSTOMIZE_VERSION"
if [ ! -x "$dir/kustomize" ]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "k8s-tools: no Go toolchain on PATH; kustomize $KUSTOMIZE_VERSION needs go >= 1.26" >&2
    exit 1
  fi
  echo "== installing kustomize $KUSTOMIZE_VERSION (Go module proxy) into $dir" >&2
  mkdir -p "$dir"
  GOBIN="$dir" GOFLAGS=-mod=mod GOTOOLCHAIN=local \
    go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >&2
fi
echo "$dir/kustomize"
