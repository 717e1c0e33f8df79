#!/usr/bin/env bash
# The whole test suite: generated-code check, then every test (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

# The CQL tests need a Cassandra node. Started here, its 20-30 s start-up overlaps the
# checks and tests that run before the first CQL test, whose fixture waits for it; it is
# stopped and its data wiped when this script ends. A node already running (a developer's)
# is used and left alone.
stop_cassandra() { bash scripts/cassandra stop && bash scripts/cassandra wipe; }
if ! bash scripts/cassandra status >/dev/null 2>&1; then
  echo "== starting Cassandra for the CQL tests"
  bash scripts/cassandra start
  export POSTWAVE_CASSANDRA_DISPOSABLE=1
  trap stop_cassandra EXIT
fi

echo "== checking that generated protobuf code is current"
bash scripts/gen-proto.sh
if ! git diff --quiet -- server/postwave/v1 || [ -n "$(git status --porcelain -- server/postwave/v1)" ]; then
  git --no-pager diff --stat -- server/postwave/v1
  echo "generated code in server/postwave/v1 differs from proto/: run 'make proto' and commit" >&2
  exit 1
fi

# buf lint, buf breaking against the released contract, and regenerated clients unchanged
# (generators cached outside the tree after their first install).
echo "== checking the API contract"
bash scripts/check-contract.sh

# In CI a compiled hot-path module that fails to build or import is an error, never a
# silent fallback to its twin (the native tests then fail instead of skipping).
if [ "${CI:-}" = "true" ]; then
  export POSTWAVE_REQUIRE_EXTENSIONS=1
fi
if ! python3 -m postwave.cli doctor && [ "${CI:-}" = "true" ]; then
  exit 1
fi

# Compiled once here: with PYTHONDONTWRITEBYTECODE set (this machine sets it) nothing
# else writes them, and every process the tests start (each embedded platform spawns its
# workers) would compile postwave's modules again, ~0.3 s of CPU each on a 2 GHz core.
python3 -m compileall -q server tests benchmarks

echo "== running the tests"
python3 -m pytest -q -p no:cacheprovider --durations=30 "$@"
