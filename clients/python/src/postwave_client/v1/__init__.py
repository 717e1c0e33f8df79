"""Generated protobuf and gRPC code of package postwave.v1 (scripts/gen-clients.sh)."""
