package org.jitgate.spark;

import java.util.HashMap;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.jitgate.JitGate;
import org.jitgate.PluginConfig;
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

    private SparkEngine() {
    }

    /** The engine of this JVM; the first plugin to open it sets its configuration. */
    static JitGate open(SparkConf conf) {
        Map<String, String> all = new HashMap<>();
        for (Tuple2<String, String> kv : conf.getAll()) {
            all.put(kv._1(), kv._2());
        }
        return PluginConfig.read("spark", SPARK_PREFIX, all).shared();
    }
}
