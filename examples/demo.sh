#!/usr/bin/env bash
# The jitgate story end to end on embedded defaults: a real `jitgate serve`, a NameNode with the
# plugin, and the CLI. `make demo` builds first, then runs this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/demo-out"
rm -rf "$out" && mkdir -p "$out"

mvn -B -q -Dstyle.color=never -f "$root/java/pom.xml" -pl hdfs dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="$out/classpath.txt"
cp="$root/java/hdfs/target/test-classes:$root/java/hdfs/target/classes:$(cat "$out/classpath.txt")"
opens=$(sed -n '/<jitgate.test.jvm.opens>/,/<\/jitgate.test.jvm.opens>/p' "$root/java/pom.xml" | grep -o -- '--add-opens=[^ <]*')

# Hadoop's own warnings would drown the story; jitgate's messages go to stderr regardless.
printf 'log4j.rootLogger=ERROR, err\nlog4j.appender.err=org.apache.log4j.ConsoleAppender\nlog4j.appender.err.Target=System.err\nlog4j.appender.err.layout=org.apache.log4j.PatternLayout\nlog4j.appender.err.layout.ConversionPattern=%%d{HH:mm:ss} %%p %%c{1} - %%m%%n\nlog4j.logger.org.apache.hadoop.hdfs.server.datanode=FATAL\n' >"$out/log4j.properties"

# shellcheck disable=SC2086
exec java $opens -Dlog4j.configuration="file:$out/log4j.properties" -cp "$cp" org.jitgate.hdfs.Demo \
  "$root/target/release/jitgate" "$out"
