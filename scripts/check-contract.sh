#!/usr/bin/env bash
# API contract checks, run by scripts/test.sh:
#   1. buf lint on proto/ (rules in proto/buf.yaml);
#   2. buf breaking against the released contract, proto/released/postwave-v1.binpb, so an
#      incompatible change (a renumbered field, a changed type, a removed RPC) fails CI;
#   3. the generated clients (clients/) are current: regenerating them changes nothing.
#
#   scripts/check-contract.sh            the three checks
#   scripts/check-contract.sh --release  record proto/ as the released contract (when cutting
#                                        a release: commit the new image with it)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/codegen-tools.sh
released=proto/released/postwave-v1.binpb

codegen_tools_buf
stage_googleapis

if [ "${1:-}" = "--release" ]; then
  mkdir -p "$(dirname "$released")"
  (cd proto && buf build --path postwave --exclude-source-info -o "../$released")
  echo "== recorded the released contract in $released"
  exit 0
fi

echo "== buf lint"
buf lint proto
echo "== buf breaking against $released"
# From inside proto/, so that --path names the same files in the input and in the image.
(cd proto && buf breaking --path postwave --against "../$released")

echo "== checking that the generated clients are current"
bash scripts/gen-clients.sh
if [ -n "$(git status --porcelain -- clients)" ]; then
  git status --short -- clients
  git --no-pager diff --stat -- clients
  echo "clients/ differs from what proto/ generates: run scripts/gen-clients.sh and commit" >&2
  exit 1
fi
echo "== contract checks passed"
