#!/bin/sh
# Runs the headless-Chromium end-to-end test of the web pages.
# Needs: Debian `chromium`, Node 18+, and `npm ci` (or `npm install`) in this directory.
# Builds the service first unless JITGATE_BIN points at a binary.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${JITGATE_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p jitgate-service)
  JITGATE_BIN="$root/target/release/jitgate"
fi
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm install --no-audit --no-fund)
JITGATE_BIN="$JITGATE_BIN" CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" node "$here/e2e.mjs"
