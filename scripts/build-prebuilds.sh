#!/usr/bin/env bash
# N-API prebuilds (NAPI_VERSION 8, stripped) for the targets this Linux
# machine can build: linux-x64 (the machine's g++), linux-arm64 (Debian's
# g++-aarch64-linux-gnu), linux-arm (armv7 hard-float, Debian's
# g++-arm-linux-gnueabihf), win32-x64 (Debian's mingw-w64, through
# scripts/build-win32.sh), and linux-x64-musl / linux-arm64-musl (zig from
# npm, through scripts/build-musl.sh). `npm run build:prebuilds` runs this.
#
#   scripts/build-prebuilds.sh [--stage-only] [TARGET...]   TARGET: linux-x64 linux-arm64 linux-arm win32-x64 linux-x64-musl linux-arm64-musl (default: all)
#
# One naming scheme, node-gyp-build's tags (the loader in lib/binding.ts
# and the GitHub workflow use the same): prebuilds/<platform>-<arch>/
# tcp-keepalive.node for glibc (and Windows), tcp-keepalive.musl.node for
# musl, which node-gyp-build prefers where LIBC=musl or /etc/alpine-release
# exists and never takes elsewhere.
#
# Each target is built with node-gyp (prebuildify) in its own copy of the
# sources under the cache, never in the work tree's build/, which the tests
# of a running suite load. Results land in
#   $PLATFORM_CACHE/prebuilt/prebuilds/<target>/tcp-keepalive.node
# and, unless --stage-only, are then copied (atomically) into
# prebuilds/<target>/ of the work tree, where npm pack picks them up.
# PREBUILD_SOURCES=DIR builds the src/ and binding.gyp of another checkout
# (for example a `git archive` of a commit) instead of the work tree's.
# A target whose inputs (sources, binding.gyp, these scripts, node-addon-api)
# are unchanged since its last build is not rebuilt (FORCE=1 rebuilds). Concurrent runs wait for each other per target.
set -euo pipefail
# shellcheck source=platform-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/platform-common.sh"
ROOT="$PLATFORM_ROOT"
SOURCES="${PREBUILD_SOURCES:-$ROOT}"
export PREBUILD_SOURCES="$SOURCES"
STAGE_OUT="$PLATFORM_CACHE/prebuilt"

copy=1
targets=()
for arg in "$@"; do
  case "$arg" in
    --stage-only) copy=0 ;;
    linux-x64 | linux-arm64 | linux-arm | win32-x64 | linux-x64-musl | linux-arm64-musl) targets+=("$arg") ;;
    *) platform_die "unknown argument $arg (targets: linux-x64 linux-arm64 linux-arm win32-x64 linux-x64-musl linux-arm64-musl)" ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(linux-x64 linux-arm64 linux-arm win32-x64 linux-x64-musl linux-arm64-musl)
platform_cache_dir

log() { echo "prebuild: $*" >&2; }

# A digest of everything a build depends on; a target is rebuilt when it
# differs from the one recorded at its last build.
inputs_digest() {
  (cd "$SOURCES" && find src binding.gyp -type f -print0 | sort -z | xargs -0 sha256sum)
  sha256sum "$ROOT/scripts/build-prebuilds.sh" "$ROOT/scripts/build-win32.sh" "$ROOT/scripts/build-musl.sh" \
    "$ROOT/node_modules/node-addon-api/package.json" | cut -d' ' -f1
}

fresh() {
  local output=$1 digest=$2
  [ "${FORCE:-0}" != 1 ] && [ -f "$output" ] && [ -f "$output.inputs" ] &&
    [ "$(cat "$output.inputs")" = "$digest" ]
}

# A copy of what node-gyp needs, so its build/ is not the work tree's.
stage_sources() {
  local stage=$1
  rm -rf "$stage"
  mkdir -p "$stage"
  cp -r "$SOURCES/src" "$SOURCES/binding.gyp" "$ROOT/package.json" "$stage/"
  ln -s "$ROOT/node_modules" "$stage/node_modules"
}

# prebuildify in STAGE for ARCH; extra environment from the caller. Node's
# headers come from the machine (Debian's /usr/include/node, as npm's
# nodedir setting says) rather than a download: only the registry is
# reachable.
prebuildify_in() {
  local stage=$1 arch=$2
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then
    export npm_config_nodedir=/usr
  fi
  (cd "$stage" && "$ROOT/node_modules/.bin/prebuildify" --napi --strip --arch "$arch" \
    --cwd "$stage" --out "$stage/out") >&2
}

build_linux_x64() {
  local stage="$PLATFORM_CACHE/stage-linux-x64"
  stage_sources "$stage"
  prebuildify_in "$stage" x64
  echo "$stage/out/prebuilds/linux-x64/tcp-keepalive.node"
}

# A glibc Linux target built with Debian's cross toolchain TRIPLE for node-gyp's ARCH.
build_linux_cross() {
  local target=$1 triple=$2 arch=$3 stage="$PLATFORM_CACHE/stage-$1" tool
  for tool in gcc g++ strip; do
    command -v "$triple-$tool" >/dev/null || platform_die "missing $triple-$tool (apt-get install g++-$triple)"
  done
  stage_sources "$stage"
  CC="$triple-gcc" CXX="$triple-g++" LINK="$triple-g++" AR="$triple-ar" \
    PREBUILD_STRIP_BIN="$triple-strip" prebuildify_in "$stage" "$arch"
  echo "$stage/out/prebuilds/$target/tcp-keepalive.node"
}

build_linux_arm64() { build_linux_cross linux-arm64 aarch64-linux-gnu arm64; }
build_linux_arm() { build_linux_cross linux-arm arm-linux-gnueabihf arm; }

build_linux_x64_musl() {
  "$ROOT/scripts/build-musl.sh" x64 "$PLATFORM_CACHE/stage-linux-x64-musl/tcp-keepalive.musl.node" >&2
  echo "$PLATFORM_CACHE/stage-linux-x64-musl/tcp-keepalive.musl.node"
}

build_linux_arm64_musl() {
  "$ROOT/scripts/build-musl.sh" arm64 "$PLATFORM_CACHE/stage-linux-arm64-musl/tcp-keepalive.musl.node" >&2
  echo "$PLATFORM_CACHE/stage-linux-arm64-musl/tcp-keepalive.musl.node"
}

# Where a target's file goes under prebuilds/: its platform-arch directory,
# and the file name with its libc tag.
target_dir() { echo "${1%-musl}"; }
target_file() { case "$1" in *-musl) echo tcp-keepalive.musl.node ;; *) echo tcp-keepalive.node ;; esac; }

build_win32_x64() {
  "$ROOT/scripts/build-win32.sh" >&2
  echo "$ROOT/build-win32/tcp_keepalive.node"
}

# What the file must be, as `file` describes it.
expect_format() {
  case "$1" in
    linux-x64 | linux-x64-musl) echo 'ELF 64-bit LSB shared object, x86-64' ;;
    linux-arm64 | linux-arm64-musl) echo 'ELF 64-bit LSB shared object, ARM aarch64' ;;
    linux-arm) echo 'ELF 32-bit LSB shared object, ARM, EABI5' ;;
    win32-x64) echo 'PE32+ executable (DLL)' ;;
  esac
}

for target in "${targets[@]}"; do
  dir="$(target_dir "$target")"
  name="$(target_file "$target")"
  out="$STAGE_OUT/prebuilds/$dir/$name"
  mkdir -p "$(dirname "$out")"
  exec {lock}>"$STAGE_OUT/.$target.lock"
  flock "$lock"
  digest="$(inputs_digest | sha256sum | cut -d' ' -f1)"
  if fresh "$out" "$digest"; then
    log "$target up to date"
  else
    log "building $target"
    built="$(build_"${target//-/_}")"
    [ -f "$built" ] || platform_die "$target: no output at $built"
    cp "$built" "$out.part"
    mv "$out.part" "$out"
    echo "$digest" >"$out.inputs"
  fi
  format="$(file -b "$out")"
  [[ "$format" == "$(expect_format "$target")"* ]] || platform_die "$target: unexpected binary: $format"
  case "$format" in *"not stripped"*) platform_die "$target: not stripped" ;; esac
  if [ "$copy" = 1 ]; then
    mkdir -p "$ROOT/prebuilds/$dir"
    cp "$out" "$ROOT/prebuilds/$dir/.$name.part"
    mv "$ROOT/prebuilds/$dir/.$name.part" "$ROOT/prebuilds/$dir/$name"
    where="prebuilds/$dir/$name"
  else
    where="$out"
  fi
  log "$target ok: $where ($(stat -c %s "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16))"
  flock -u "$lock"
  exec {lock}>&-
done
