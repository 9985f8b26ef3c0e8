package org.jitgate.spark;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.jitgate.JitGate;
import scala.Tuple2;

/**
 * Opens (or joins) the JVM's jitgate engine from the Spark configuration.
 *
 * <p>Keys: {@code spark.jitgate.X} is passed to the core as {@code jitgate.X} (the form
 * {@code spark-submit --conf} and spark-defaults.conf accept); a plain {@code jitgate.X} set on the
 * {@link SparkConf} in code is accepted too, and the {@code spark.} form wins when both are set.
 * E.g. {@code spark.jitgate.service.url}, {@code spark.jitgate.service.token.file},
 * {@code spark.jitgate.cache.dir}, {@code spark.jitgate.request.url}. Only the SparkContext's
 * configuration counts: session-level SET cannot reach the engine.
 */
final class SparkEngine {
    static final String SPARK_PREFIX = "spark.";
    static final String PLUGIN_KEY = "jitgate.plugin";
    static final String HOST_KEY = "jitgate.host";

    private SparkEngine() {
    }

    /** The engine of this JVM; the first plugin to open it sets its configuration. */
    static JitGate open(SparkConf conf) {
        return JitGate.shared(engineConfig(conf));
    }

    static Map<String, String> engineConfig(SparkConf conf) {
        Map<String, String> plain = new HashMap<>();
        Map<String, String> prefixed = new HashMap<>();
        for (Tuple2<String, String> kv : conf.getAll()) {
            String key = kv._1();
            if (key.startsWith(JitGate.KEY_PREFIX)) {
                plain.put(key, kv._2());
            } else if (key.startsWith(SPARK_PREFIX + JitGate.KEY_PREFIX)) {
                prefixed.put(key.substring(SPARK_PREFIX.length()), kv._2());
            }
        }
        Map<String, String> out = new HashMap<>(plain);
        out.putAll(prefixed);
        out.putIfAbsent(PLUGIN_KEY, "spark");
        out.putIfAbsent(HOST_KEY, hostName());
        return out;
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            String env = System.getenv("HOSTNAME");
            return env == null || env.isEmpty() ? "localhost" : env;
        }
    }
}
