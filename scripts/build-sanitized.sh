#!/usr/bin/env bash
# Builds the native addon with AddressSanitizer and UndefinedBehaviorSanitizer
# (Linux, g++) into build-asan/tcp_keepalive.node (or the directory given), for
# test/sanitizers.test.ts:
#   TCP_KEEPALIVE_ADDON=build-asan/tcp_keepalive.node \
#   LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
#   ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 node ...
# (libasan must be loaded first, hence LD_PRELOAD; Node itself does not free
# everything at exit, hence detect_leaks=0.) Same sources and defines as
# binding.gyp's Linux target, plus -fno-sanitize-recover so that any report
# is fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-asan}
mkdir -p "$out"

headers=""
for dir in "$(node -p 'require("path").join(process.config.variables.node_prefix || "/usr", "include", "node")')" \
           "$HOME/.cache/node-gyp/$(node -p 'process.versions.node')/include/node" /usr/include/node; do
  if [ -f "$dir/node_api.h" ]; then headers=$dir; break; fi
done
[ -n "$headers" ] || { echo "build-sanitized: no Node headers (node_api.h) found" >&2; exit 1; }
addon_api=$(node -p 'require("node-addon-api").include_dir')

sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
g++ -std=c++17 -O1 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra \
  "${sanitize[@]}" -DNAPI_VERSION=8 -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS \
  -DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS -DTCPKA_PEER_AFTER_END \
  -I "$headers" -I "$addon_api" -I src \
  src/binding.cc src/keepalive_posix.cc src/keepalive_linux.cc src/health_linux.cc \
  -o "$out/tcp_keepalive.node"
echo "build-sanitized: ok $out/tcp_keepalive.node ($(stat -c %s "$out/tcp_keepalive.node") bytes)"
