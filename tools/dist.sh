#!/usr/bin/env bash
# `make dist`: what an admin installs, under dist/. The library and binary are stripped, their
# debug symbols kept beside them (NAME.debug, found by build id or debuglink); the plugin jars are
# packaged around the stripped library and every module's test suite runs against its packaged
# jar (Maven profile `dist`) before dist/ gets a copy; SHA256SUMS last.
# The library goes into the JVMs of Hadoop hosts, often older systems than this one, so it is
# linked against glibc 2.17's symbols by `cargo zigbuild` (zig's C toolchain and glibc stubs,
# installed from PyPI into target/dist-tools); the binary is the release build's.
#   tools/dist.sh            (MVN and CARGO as in the Makefile)
set -euo pipefail
cd "$(dirname "$0")/.."
MVN=${MVN:-mvn -B -ntp -Dstyle.color=never -f java/pom.xml}
CARGO=${CARGO:-cargo}

release=target/release
stage=target/dist-native
dist=dist

# Strips FILE into OUT, its debug sections going to OUT.debug (compressed; gdb reads it as is).
split_debug() {
  local file=$1 out=$2
  objcopy --only-keep-debug --compress-debug-sections=zlib "$file" "$out.debug"
  objcopy --strip-unneeded --add-gnu-debuglink="$out.debug" "$file" "$out"
}

glibc=2.17
tools=target/dist-tools
if [ ! -x "$tools/bin/cargo-zigbuild" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q ziglang==0.17.1 cargo-zigbuild==0.24.1
fi

$CARGO build --release --workspace
PATH="$PWD/$tools/bin:$PATH" $CARGO zigbuild --release -p jitgate --lib --target "x86_64-unknown-linux-gnu.$glibc"

# Everything is made in $out and becomes dist/ only once every suite passed: a failed run
# leaves the last good dist/ as it was.
out=target/dist-out
rm -rf "$stage" "$out"
mkdir -p "$stage" "$out"
split_debug target/x86_64-unknown-linux-gnu/release/libjitgate.so "$stage/libjitgate.so"
split_debug "$release/jitgate" "$out/jitgate"
mv "$stage/libjitgate.so.debug" "$out/"

# The loader names this floor when a system's glibc is older: the library may need no newer one.
needs=$(objdump -T "$stage/libjitgate.so" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1 || true)
says=$(sed -n 's/.*GLIBC_FLOOR = "\([0-9.]*\)".*/\1/p' java/common/src/main/java/org/jitgate/NativeLoader.java)
if [ -z "$needs" ] || [ -z "$says" ] || [ "$(printf '%s\n%s\n' "$needs" "$says" | sort -V | tail -1)" != "$says" ]; then
  echo "dist: libjitgate.so needs glibc '$needs', NativeLoader.GLIBC_FLOOR says '$says': update it and README.md" >&2
  exit 1
fi

$MVN -Pdist -Djitgate.native.dir="$PWD/$stage" -pl common,hdfs,hdfs-hadoop-3.3,hdfs-hadoop-3.5,hive,ranger,spark/4.0_2.13,spark/3.5_2.13,spark/3.5_2.12 -am verify

# The jars the suites just ran against, by this build's version (older ones may linger in
# target/).
version=$(sed -n '0,/<version>/s/.*<version>\(.*\)<\/version>.*/\1/p' java/pom.xml)
for module in common hdfs hive ranger; do
  cp "java/$module/target/jitgate-$module-$version.jar" "$out/"
done
# Spark: one jar per Scala line. Built against Spark 3.5 and 4.0, the Scala 2.13 classes are the
# same bytes, so the 4.0 line's jar ships for both (its 3.5 suite ran on it); a difference would
# need a jar per Spark line.
spark=java/spark
if ! diff -r "$spark/4.0_2.13/target/classes" "$spark/3.5_2.13/target/classes" >/dev/null; then
  echo "dist: the plugin's classes built against Spark 3.5 and 4.0 (Scala 2.13) differ: ship a jar for each" >&2
  exit 1
fi
cp "$spark/4.0_2.13/target/jitgate-spark-4.0_2.13-$version.jar" "$out/jitgate-spark_2.13-$version.jar"
cp "$spark/3.5_2.12/target/jitgate-spark-3.5_2.12-$version.jar" "$out/jitgate-spark_2.12-$version.jar"

(cd "$out" && sha256sum -- * > ../SHA256SUMS && mv ../SHA256SUMS . && sha256sum -c --quiet SHA256SUMS)
rm -rf "$dist"
mv "$out" "$dist"
ls -l "$dist"
