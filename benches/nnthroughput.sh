#!/usr/bin/env bash
# NameNode throughput with the default permission checker and with jitgate, side by side in one
# run (Hadoop 3.5 NNThroughputBenchmark, -nonSuperUser, paths inside and outside a zone).
#   benches/nnthroughput.sh [ops] [files] [threads] [rounds] [grants]
#   e.g. benches/nnthroughput.sh open,fileStatus,create,mkdirs 10000 4 3 100000
# First the heap and RSS of a fresh NameNode JVM without and with jitgate (and [grants] grants).
# NNBENCH_JAVA_OPTS=-Dnnbench.time.checks=true times jitgate's part of each permission check.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/nnbench"
rm -rf "$out" && mkdir -p "$out"

cargo build --release -p jitgate --manifest-path "$root/Cargo.toml"
mvn -B -q -ntp -f "$root/java/pom.xml" -Pnnbench -DskipTests install
mvn -B -q -ntp -f "$root/java/pom.xml" -Pnnbench -pl nnbench dependency:build-classpath \
  -Dmdep.outputFile="$out/classpath.txt"
opens=$(sed -n '/<jitgate.test.jvm.opens>/,/<\/jitgate.test.jvm.opens>/p' "$root/java/pom.xml" | grep -o -- '--add-opens=[^ <]*')

cp="$root/java/nnbench/target/classes:$(cat "$out/classpath.txt")"
for mode in default jitgate; do
  # shellcheck disable=SC2086
  java $opens -Xmx4g -cp "$cp" org.jitgate.nnbench.NameNodeThroughput "$out" memory "$mode" "${5:-100000}"
done
# shellcheck disable=SC2086
java $opens ${NNBENCH_JAVA_OPTS:-} -Xmx4g -cp "$cp" org.jitgate.nnbench.NameNodeThroughput "$out" "$@"
