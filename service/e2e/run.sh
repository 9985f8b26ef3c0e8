#!/bin/sh
# Runs the headless-Chromium end-to-end test of the web pages.
# Needs: Debian `chromium` (or CHROMIUM=path), Node 18+; installs playwright-core here with npm.
# Builds the service first unless JITGATE_BIN points at a binary.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${JITGATE_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p jitgate-service)
  JITGATE_BIN="$root/target/release/jitgate"
fi
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm install --no-audit --no-fund)
# exec: a signal to this script reaches node, which stops the service it started.
export JITGATE_BIN CHROMIUM="${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
exec node "$here/e2e.mjs"
