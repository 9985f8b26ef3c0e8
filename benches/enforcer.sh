#!/usr/bin/env bash
# jitgate's NameNode enforcer alone, without a NameNode (java/nnbench EnforcerLoop): ns per check.
#   benches/enforcer.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/enforcer-loop"
mkdir -p "$out"
cargo build --release -p jitgate --manifest-path "$root/Cargo.toml"
mvn -B -q -ntp -f "$root/java/pom.xml" -Pnnbench -DskipTests install
mvn -B -q -ntp -f "$root/java/pom.xml" -Pnnbench -pl nnbench dependency:build-classpath \
  -Dmdep.outputFile="$out/classpath.txt"
java -Xmx2g -cp "$root/java/nnbench/target/classes:$(cat "$out/classpath.txt")" org.jitgate.nnbench.EnforcerLoop
