#!/usr/bin/env bash
# Regenerates server/postwave/v1/*_pb2*.py from proto/. CI runs it and fails on any diff.
set -euo pipefail
cd "$(dirname "$0")/.."
gapi=$(python3 -c 'import google.api, os; print(os.path.dirname(os.path.dirname(google.api.__path__[0])))')
python3 -m grpc_tools.protoc -Iproto -I"$gapi" \
  --python_out=server --pyi_out=server --grpc_python_out=server \
  proto/postwave/v1/*.proto
touch server/postwave/v1/__init__.py
