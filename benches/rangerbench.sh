#!/usr/bin/env bash
# jitgate's JNI decision beside Apache Ranger's policy engine (RangerBasePlugin.isAccessAllowed, what
# RangerHdfsAuthorizer calls per NameNode check) for the same HDFS paths, in one JMH run.
#   benches/rangerbench.sh [JMH options]
#   e.g. benches/rangerbench.sh -p grants=10,100000 -wi 2 -w 1 -i 3 -r 1
# Runs from the Maven classpath (Ranger and Hadoop would make a very large shaded jar).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/target/rangerbench"
mkdir -p "$out"

cargo build --release -p jitgate --manifest-path "$root/Cargo.toml"
mvn -B -q -ntp -f "$root/java/pom.xml" -Prangerbench -DskipTests install -pl rangerbench -am
mvn -B -q -ntp -f "$root/java/pom.xml" -Prangerbench -pl rangerbench dependency:build-classpath \
  -Dmdep.includeScope=runtime -Dmdep.outputFile="$out/classpath.txt"
opens=$(sed -n '/<jitgate.test.jvm.opens>/,/<\/jitgate.test.jvm.opens>/p' "$root/java/pom.xml" | grep -o -- '--add-opens=[^ <]*')

cp="$root/java/rangerbench/target/classes:$(cat "$out/classpath.txt")"
# The library cargo just built, rather than the copy bundled in jitgate-common (extracted to /tmp).
# JMH's forks inherit these JVM options and the classpath.
# shellcheck disable=SC2086
exec java $opens -Djitgate.native.lib="$root/target/release/libjitgate.so" -cp "$cp" \
  org.openjdk.jmh.Main RangerComparisonBenchmark "$@"
