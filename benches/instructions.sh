#!/usr/bin/env bash
# Instructions per decision (callgrind), repeatable on a busy machine. benches/instructions.sh [grants...]
# engine_allow counts the audit record too, the audit thread's work included.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo bench --manifest-path "$root/Cargo.toml" --bench instructions --no-run 2>/dev/null
bin=$(ls -t "$root"/target/release/deps/instructions-* | grep -v '\.d$' | head -1)
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-20s %8s %16s\n' scenario grants instructions/decide
[ $# -gt 0 ] || set -- 10 10000 100000
for grants in "$@"; do
  for s in protected_allow protected_no_grant outside_zones engine_allow; do
    one=$(count "$s" 1 "$grants"); many=$(count "$s" 100001 "$grants")
    printf '%-20s %8s %16s\n' "$s" "$grants" "$(( (many - one) / 100000 ))"
  done
done
