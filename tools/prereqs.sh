#!/bin/sh
# What `make` needs on this machine, checked before anything builds (the Makefile runs this
# first). The toolchains must be there already; what a test needs besides, named as arguments, is
# installed with apt-get when running as root, and otherwise named with the command that installs it.
#   tools/prereqs.sh [sqlite3] [postgres] [chromium] [node] [python3]
set -eu

missing=""
for tool in cargo java mvn cc; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "prereqs: missing toolchains:$missing" >&2
  echo "prereqs: install Rust (stable, with rustup), JDK 17, Maven 3.8+ and a C compiler, then run make again" >&2
  exit 1
fi

# Prints the Debian packages a need lacks; nothing when it is met.
lacking() {
  case "$1" in
    # the audit chain test edits the service's database as an intruder would
    sqlite3) command -v sqlite3 >/dev/null 2>&1 || echo sqlite3 ;;
    # the store's tests and the replica tests start private servers (tools/postgres.sh)
    postgres) ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || echo postgresql ;;
    # the web-page test drives headless Chromium (service/e2e)
    chromium)
      if [ -n "${CHROMIUM:-}" ]; then [ -x "$CHROMIUM" ] || echo chromium
      else command -v chromium >/dev/null 2>&1 || echo chromium
      fi ;;
    # playwright-core from npm, Node 18 or later
    node)
      major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
      { [ "$major" -ge 18 ] 2>/dev/null && command -v npm >/dev/null 2>&1; } || echo nodejs npm ;;
    # the conformance run puts schemathesis into a venv (service/conformance)
    python3) python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || echo python3 python3-venv ;;
    *) echo "prereqs: unknown need $1" >&2; exit 2 ;;
  esac
}

packages=""
for need in "$@"; do
  packages="$packages $(lacking "$need")"
done
packages=$(echo $packages)
[ -z "$packages" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "prereqs: installing $packages"
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  still=""
  for need in "$@"; do
    still="$still $(lacking "$need")"
  done
  still=$(echo $still)
  [ -z "$still" ] && exit 0
  echo "prereqs: still missing after apt-get install: $still" >&2
  exit 1
fi
echo "prereqs: missing $packages; install with:" >&2
echo "  sudo apt-get install -y $packages" >&2
exit 1
