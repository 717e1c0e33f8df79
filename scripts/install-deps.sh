#!/usr/bin/env bash
# Installs everything postwave and its tests need on a fresh Debian machine (run as root):
# Debian packages (dnsmasq for the test DNS server, postfix for the smtp-sink benchmark
# sink) and the Python package with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
[ -x /usr/sbin/smtp-sink ] || need+=(postfix)
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

if ! python3 -c 'import postwave, grpc_tools, aiosmtpd, pytest_asyncio' >/dev/null 2>&1 \
   || [ "$(python3 -c 'import postwave,os;print(os.path.dirname(postwave.__file__))' 2>/dev/null)" != "$PWD/server/postwave" ]; then
  echo "== installing the postwave Python package and test tools"
  python3 -m pip install -q --disable-pip-version-check -e '.[test]'
fi
echo "== dependencies ready"
