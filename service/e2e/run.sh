#!/bin/sh
# Runs the headless-Chromium end-to-end tests of the web pages: e2e.mjs (the pages behind an SSO
# proxy) and signin.mjs (web sign-in at a real OIDC provider the test starts on loopback).
# Needs: Debian `chromium` (or CHROMIUM=path), Node 20+; installs playwright-core and
# oidc-provider here with npm. Builds the service first unless JITGATE_BIN points at a binary.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ -z "${JITGATE_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p jitgate-service)
  JITGATE_BIN="$root/target/release/jitgate"
fi
[ -d "$here/node_modules/playwright-core" ] && [ -d "$here/node_modules/oidc-provider" ] ||
  (cd "$here" && npm install --no-audit --no-fund)
export JITGATE_BIN CHROMIUM="${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}"
# A signal to this script reaches the node running, which stops the service it started.
node "$here/e2e.mjs" &
pid=$!
trap 'kill "$pid" 2>/dev/null' INT TERM HUP
wait "$pid"
trap - INT TERM HUP
exec node "$here/signin.mjs"
