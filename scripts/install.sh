#!/usr/bin/env bash
# Installs what dfq needs on a Debian machine and builds the workspace.
# System packages (Redis, Fashion-MNIST for evaluation, oneDNN for the native backend, the onnx.proto
# the ONNX reader and writer are generated from (libonnx-dev), a C++ toolchain) are installed when
# running as root with apt; otherwise the script says what is missing and carries on: dfq runs without
# oneDNN (falling back to the wasm backend), but the build needs onnx.proto and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

want=(redis-server dataset-fashion-mnist libdnnl-dev libonnx-dev g++ make python3 docker-compose)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: missing Debian packages (install them as root for the full feature set): ${missing[*]}" >&2
  fi
fi

# npm ci would refuse the lock file: the registry here lacks some platform builds of biome and turbo.
# The integration tests (npm test) need a Redis on 127.0.0.1:6379: start one if none answers.
if command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /tmp/dfq-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp/dfq-redis --logfile /tmp/dfq-redis/redis.log
  for _ in $(seq 1 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

npm install --no-audit --no-fund
npm run build
