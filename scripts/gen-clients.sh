#!/usr/bin/env bash
# Regenerates the generated code of every client under clients/ from proto/:
#   clients/go/postwavev1/                      protoc-gen-go + protoc-gen-go-grpc   (buf)
#   clients/java/src/main/java/io/postwave/v1/  protoc (java) + protoc-gen-grpc-java (buf)
#   clients/typescript/src/gen/                 ts-proto, @grpc/grpc-js services     (buf)
#   clients/python/src/postwave_client/v1/      grpcio-tools, as scripts/gen-proto.sh
# The generators are pinned (scripts/codegen-tools.sh) and installed on first use. CI runs
# this and fails if anything under clients/ changes: never edit generated code by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/codegen-tools.sh
codegen_tools_all
stage_googleapis

rm -rf clients/go/postwavev1 clients/java/src/main/java/io/postwave/v1 clients/typescript/src/gen \
  clients/python/src/postwave_client/v1
buf generate --template proto/buf.gen.yaml
buf generate --template proto/buf.gen.rpc.yaml

# Python: grpcio-tools names modules after the proto path (postwave.v1.*), which is the
# server's package; the client's copy lives in postwave_client.v1, so its imports are
# rewritten. The descriptors are untouched: both copies may be loaded in one process.
gapi=$(python3 -c 'import google.api, os; print(os.path.dirname(os.path.dirname(google.api.__path__[0])))')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m grpc_tools.protoc -Iproto -I"$gapi" --python_out="$tmp" --pyi_out="$tmp" --grpc_python_out="$tmp" \
  proto/postwave/v1/*.proto
out=clients/python/src/postwave_client/v1
mkdir -p "$out"
for f in "$tmp"/postwave/v1/*; do
  sed -e 's/^from postwave\.v1 import /from postwave_client.v1 import /' "$f" > "$out/$(basename "$f")"
done
printf '"""Generated protobuf and gRPC code of package postwave.v1 (scripts/gen-clients.sh)."""\n' > "$out/__init__.py"
echo "== clients regenerated"
