# Sourced by scripts/gen-clients.sh and scripts/check-contract.sh: installs the pinned code
# generators once into a cache outside the work tree, puts them on PATH, and stages the
# googleapis protos of the Python wheel as buf's local module proto/.googleapis/.
#
# Every generator comes from a package registry: buf and ts-proto from npm (versions locked by
# scripts/codegen/package-lock.json), protoc-gen-go and protoc-gen-go-grpc from the Go module
# proxy, protoc and protoc-gen-grpc-java from Maven Central. The cache is keyed by version, so
# a fresh clone on the same machine reuses it; POSTWAVE_TOOLS_DIR moves it.

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
# protoc 35.1 is the compiler grpcio-tools 1.85.1 embeds (the server's *_pb2.py say 7.35.1).
PROTOC_VERSION=4.35.1
# The newest protoc-gen-grpc-java with a linux-x86_64 binary on Maven Central; its stubs run
# on the grpc-java 1.85 runtime the Java client uses.
GRPC_JAVA_PLUGIN_VERSION=1.83.1

TOOLS_DIR="${POSTWAVE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/postwave-tools}"
_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_tools_npm() {
  local lock_sum dir
  lock_sum=$(sha256sum "$_repo/scripts/codegen/package-lock.json" | cut -c1-16)
  dir="$TOOLS_DIR/npm-$lock_sum"
  if [ ! -x "$dir/node_modules/.bin/buf" ] || [ ! -x "$dir/node_modules/.bin/protoc-gen-ts_proto" ]; then
    echo "== installing buf and ts-proto (npm) into $dir" >&2
    mkdir -p "$dir"
    cp "$_repo/scripts/codegen/package.json" "$_repo/scripts/codegen/package-lock.json" "$dir/"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  fi
  PATH="$dir/node_modules/.bin:$PATH"
}

_tools_go() {
  local dir="$TOOLS_DIR/go-$PROTOC_GEN_GO_VERSION-$PROTOC_GEN_GO_GRPC_VERSION"
  if [ ! -x "$dir/protoc-gen-go" ] || [ ! -x "$dir/protoc-gen-go-grpc" ]; then
    echo "== installing protoc-gen-go and protoc-gen-go-grpc (Go module proxy) into $dir" >&2
    mkdir -p "$dir"
    GOBIN="$dir" GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION" >&2
    GOBIN="$dir" GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION" >&2
  fi
  PATH="$dir:$PATH"
}

_maven_exe() {  # group:artifact:version, installed name, directory
  local gav=$1 name=$2 dir=$3 file
  [ -x "$dir/$name" ] && return 0
  echo "== fetching $gav (Maven Central) into $dir" >&2
  mkdir -p "$dir"
  local out
  if ! out=$(mvn -q -B dependency:copy "-Dartifact=$gav:exe:linux-x86_64" "-DoutputDirectory=$dir" 2>&1); then
    echo "$out" >&2
    return 1
  fi
  file="$dir/$(echo "$gav" | cut -d: -f2)-$(echo "$gav" | cut -d: -f3)-linux-x86_64.exe"
  chmod +x "$file"
  mv "$file" "$dir/$name"
}

_tools_java() {
  local dir="$TOOLS_DIR/java-$PROTOC_VERSION-$GRPC_JAVA_PLUGIN_VERSION"
  _maven_exe "com.google.protobuf:protoc:$PROTOC_VERSION" protoc "$dir"
  _maven_exe "io.grpc:protoc-gen-grpc-java:$GRPC_JAVA_PLUGIN_VERSION" protoc-gen-grpc-java "$dir"
  PATH="$dir:$PATH"
}

# Copies the google/api and google/rpc protos of the installed googleapis-common-protos wheel
# into proto/.googleapis/ (buf's second module; git-ignored).
stage_googleapis() {
  local wheel dest="$_repo/proto/.googleapis/google"
  wheel=$(python3 -c 'import google.api, os; print(os.path.dirname(google.api.__path__[0]))')
  rm -rf "$_repo/proto/.googleapis"
  mkdir -p "$dest/api" "$dest/rpc"
  cp "$wheel/api/annotations.proto" "$wheel/api/http.proto" "$dest/api/"
  cp "$wheel/rpc/status.proto" "$wheel/rpc/error_details.proto" "$dest/rpc/"
}

# buf and ts-proto only (enough for lint and breaking).
codegen_tools_buf() {
  _tools_npm
  export PATH
}

# Every generator.
codegen_tools_all() {
  _tools_npm
  _tools_go
  _tools_java
  export PATH
}
