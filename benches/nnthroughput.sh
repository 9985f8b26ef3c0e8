#!/usr/bin/env bash
# NameNode throughput with the default permission checker and with jitgate, side by side in one
# run (Hadoop 3.5 NNThroughputBenchmark, -nonSuperUser, paths inside and outside a zone).
#   benches/nnthroughput.sh [ops] [files] [threads] [rounds] [grants]
#   e.g. benches/nnthroughput.sh open,fileStatus,create,mkdirs 20000 4 2 100000
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/nnbench"
rm -rf "$out" && mkdir -p "$out"

cargo build --release -p jitgate --manifest-path "$root/Cargo.toml"
mvn -B -q -ntp -f "$root/java/pom.xml" -Pnnbench -DskipTests install
mvn -B -q -ntp -f "$root/java/pom.xml" -Pnnbench -pl nnbench dependency:build-classpath \
  -Dmdep.outputFile="$out/classpath.txt"
opens=$(sed -n '/<jitgate.test.jvm.opens>/,/<\/jitgate.test.jvm.opens>/p' "$root/java/pom.xml" | grep -o -- '--add-opens=[^ <]*')

# shellcheck disable=SC2086
java $opens -Xmx4g -cp "$root/java/nnbench/target/classes:$(cat "$out/classpath.txt")" \
  org.jitgate.nnbench.NameNodeThroughput "$out" "$@"
