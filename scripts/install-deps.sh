#!/usr/bin/env bash
# Installs everything postwave and its tests need on a fresh Debian machine (run as root):
# Debian packages (dnsmasq for the test DNS server, postfix for the smtp-sink benchmark
# sink, Java and Maven for the Cassandra test node), Cassandra's jars, and the Python
# package with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
[ -x /usr/sbin/smtp-sink ] || need+=(postfix)
# OpenDKIM signs for the Postfix relay that the end-to-end benchmark compares against.
[ -x /usr/sbin/opendkim ] || need+=(opendkim)
# Java 17 runs the Cassandra node of the CQL tests; Maven fetches its jars (scripts/cassandra).
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
# The client SDKs' builds and examples (tests/clients): javac, Node.js with npm; Go comes with
# the machine (Debian's is too old for the Go client's go.mod).
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
command -v go >/dev/null 2>&1 || echo "== warning: no Go toolchain; the Go client's tests will fail" >&2
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# The postfix package may start its own daemon on port 25; the tests' SMTP peers need
# that port on 127.0.1.x, and postwave never relies on a local MTA.
if command -v postfix >/dev/null 2>&1 && postfix status >/dev/null 2>&1; then
  postfix stop >/dev/null 2>&1 || true
fi

# The compiled hot path (native/*.pyx -> server/postwave/_native/*.so) is built by this
# install; a fresh clone has no .so files, and a changed .pyx needs a rebuild.
native_stale() {
  local pyx name so
  [ "${POSTWAVE_NO_EXTENSIONS:-}" = "1" ] && return 1
  for pyx in native/*.pyx; do
    name=$(basename "$pyx" .pyx)
    so=$(ls server/postwave/_native/"$name".*.so 2>/dev/null | head -n 1)
    if [ -z "$so" ] || [ "$pyx" -nt "$so" ] || [ setup.py -nt "$so" ]; then
      return 0
    fi
  done
  return 1
}

if ! python3 -c 'import postwave, zstandard, nats, cassandra, grpc_tools, aiosmtpd, pytest_asyncio, dkim, nacl, pytest_benchmark, aiohttp, schemathesis, prometheus_client, opentelemetry.sdk, matplotlib, kubernetes_validate, promql_parser, dockerfile_parse, atheris' >/dev/null 2>&1 \
   || ! command -v hadolint >/dev/null 2>&1 \
   || [ "$(python3 -c 'import postwave,os;print(os.path.dirname(postwave.__file__))' 2>/dev/null)" != "$PWD/server/postwave" ] \
   || native_stale; then
  echo "== installing the postwave Python package (building its compiled hot path) and test tools"
  python3 -m pip install -q --disable-pip-version-check -e '.[test]'
fi
# cassandra-all and its dependencies from Maven Central, cached in ~/.cache/postwave/cassandra.
bash scripts/cassandra fetch
# nats-server for distributed mode and its tests, built once from the Go module proxy.
bash scripts/nats install
# kustomize for the Kubernetes manifests' tests, built once from the Go module proxy.
bash scripts/k8s-tools.sh >/dev/null
echo "== dependencies ready"
