#!/usr/bin/env bash
# API conformance: schemathesis generates requests from /v1/openapi.json against a real
# `jitgate serve` and fails on any server error (5xx) or any status code the document does not
# list. Needs Python 3 (schemathesis is installed from PyPI into service/conformance/.venv).
#   service/conformance/run.sh              # JITGATE_BIN=path to use a built binary
#   EXAMPLES=200 service/conformance/run.sh # more examples per operation (default 50)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${JITGATE_BIN:-$root/target/release/jitgate}"
[ -x "$bin" ] || (cd "$root" && cargo build --release -p jitgate-service)
venv="$here/.venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis>=4,<5"
fi

dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="conformance-$(date +%s%N)"
echo "$token" > "$dir/tokens"
echo "conformance-slack-secret" > "$dir/slack-secret"
cat > "$dir/jitgate.toml" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$dir/data"
[plugins]
tokens_file = "$dir/tokens"
[slack]
signing_secret_file = "$dir/slack-secret"
users = { U024BE7LH = "bob:sales-owners" }
[[zones]]
name = "sales"
resources = ["hdfs:/lake/sales", "hive:sales.*"]
approvers = ["sales-owners"]
actions = ["read", "write", "export", "transform"]
max_duration = "15m"
TOML
"$bin" serve --config "$dir/jitgate.toml" > "$dir/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$dir/serve.log" && break; sleep 0.1; done

# The feed holds a request up to `wait` seconds when nothing changed: ask it not to, or each
# generated call could take a minute.
cat > "$dir/schemathesis.toml" <<TOML
[[operations]]
include-path = "/v1/feed"
parameters = { "query.wait" = 0 }
TOML
url="http://127.0.0.1:$port/v1/openapi.json"
# From the scratch directory: schemathesis keeps its cache (.schemathesis/) in the working directory.
run() (
  cd "$dir" && "$venv/bin/schemathesis" --config-file "$dir/schemathesis.toml" run "$url" \
    --checks not_a_server_error,status_code_conformance \
    --max-examples "${EXAMPLES:-50}" --seed 1 --suppress-health-check all "$@"
)
failed=0
echo "== as a person (trusted headers)"
run --exclude-tag plugins -H "X-Forwarded-User: bob" -H "X-Forwarded-Groups: sales-owners,analysts" || failed=1
echo "== as a plugin (Bearer token)"
run --include-tag plugins -H "Authorization: Bearer $token" || failed=1
if grep -q "panicked" "$dir/serve.log"; then
  echo "jitgate serve panicked:"; grep -A3 panicked "$dir/serve.log"; failed=1
fi
exit $failed
