#!/usr/bin/env bash
# The whole test suite: generated-code check, then every test (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== checking that generated protobuf code is current"
bash scripts/gen-proto.sh
if ! git diff --quiet -- server/postwave/v1 || [ -n "$(git status --porcelain -- server/postwave/v1)" ]; then
  git --no-pager diff --stat -- server/postwave/v1
  echo "generated code in server/postwave/v1 differs from proto/: run 'make proto' and commit" >&2
  exit 1
fi

echo "== running the tests"
python3 -m pytest -q -p no:cacheprovider "$@"
