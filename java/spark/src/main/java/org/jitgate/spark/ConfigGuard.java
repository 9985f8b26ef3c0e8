package org.jitgate.spark;

import java.util.List;
import java.util.Locale;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.command.ResetCommand;
import org.apache.spark.sql.execution.command.SetCommand;
import scala.Option;
import scala.Tuple2;

/**
 * Refuses SQL that would loosen what the administrator fixed for the application: {@code SET} or
 * {@code RESET} of the session extensions, of the optimizer's excluded rules (jitgate needs no
 * optimizer rule, but rules other plugins enforce with must not be dropped by users either), of
 * {@code spark.sql.runSQLOnFiles}, and of what would make Spark reach the zones' data by a way
 * jitgate does not name: legacy V1 commands (which carry database names as plain strings), catalogs
 * a session registers ({@code spark.sql.catalog.*}) and filesystem implementations
 * ({@code [spark.hadoop.]fs.<scheme>.impl}, e.g. HDFS under an invented scheme).
 *
 * <p>A bare {@code RESET} is allowed: Spark resets every key to the value the application started
 * with (SparkContext conf and the session's builder options), which for these keys is the
 * administrator's value, since SET of them is refused.
 *
 * <p>Code can change the same keys without SQL ({@code spark.conf.set}, {@code unset}), and a data
 * source's options reach the Hadoop configuration its files are read with. So before every plan
 * the check rule also compares the session's values of these keys with the application's, and
 * refuses a relation or write whose options carry one of them.
 */
final class ConfigGuard {
    static final List<String> FIXED_KEYS = List.of(
            "spark.sql.extensions",
            "spark.sql.optimizer.excludedRules",
            "spark.sql.runSQLOnFiles",
            "spark.sql.legacy.useV1Command");
    static final String CATALOGS = "spark.sql.catalog.";

    private ConfigGuard() {
    }

    static void refuseUnfixing(LogicalPlan plan) {
        if (plan instanceof SetCommand set) {
            Option<Tuple2<String, Option<String>>> kv = set.kv();
            // SET key=value changes a key; SET key and SET only show.
            if (kv.isDefined() && kv.get()._2().isDefined() && fixed(kv.get()._1())) {
                throw Denials.raise(Denials.of(refusal("SET", kv.get()._1())));
            }
        } else if (plan instanceof ResetCommand reset) {
            if (reset.config().isDefined() && fixed(reset.config().get())) {
                throw Denials.raise(Denials.of(refusal("RESET", reset.config().get())));
            }
        }
    }

    /** Refuses the plan when code changed a fixed key in this session (set, or unset). */
    static void refuseChangedInSession(SparkSession session) {
        SparkConf app = session.sparkContext().getConf();
        scala.collection.immutable.Map<String, String> now = session.conf().getAll();
        for (scala.collection.Iterator<Tuple2<String, String>> it = now.iterator(); it.hasNext(); ) {
            Tuple2<String, String> kv = it.next();
            Option<String> started = app.getOption(kv._1());
            if (fixed(kv._1()) && !(started.isDefined() && started.get().equals(kv._2()))) {
                throw Denials.raise(Denials.of(changed(kv._1())));
            }
        }
        for (Tuple2<String, String> kv : app.getAll()) {
            if (fixed(kv._1()) && !now.contains(kv._1())) {
                throw Denials.raise(Denials.of(changed(kv._1())));
            }
        }
    }

    /** Refuses a data source's options that carry a fixed key (they reach its Hadoop configuration). */
    static void refuseOptions(java.util.Collection<String> keys) {
        for (String key : keys) {
            refuseOption(key);
        }
    }

    static void refuseOptions(scala.collection.Iterable<String> keys) {
        for (scala.collection.Iterator<String> it = keys.iterator(); it.hasNext(); ) {
            refuseOption(it.next());
        }
    }

    private static void refuseOption(String key) {
        if (fixed(key)) {
            throw Denials.raise(Denials.of("jitgate: the option " + key.trim()
                    + " is not allowed: the administrator fixes it for this Spark application"));
        }
    }

    private static String changed(String key) {
        return "jitgate: " + key.trim() + " was changed in this session (spark.conf): the administrator"
                + " fixes it for this Spark application; set it back to the application's value";
    }

    private static boolean fixed(String key) {
        String k = key.trim().toLowerCase(Locale.ROOT);
        String fs = k.startsWith("spark.hadoop.") ? k.substring("spark.hadoop.".length()) : k;
        if (k.startsWith(CATALOGS) || (fs.startsWith("fs.") && fs.endsWith(".impl"))) {
            return true;
        }
        for (String f : FIXED_KEYS) {
            if (f.toLowerCase(Locale.ROOT).equals(k)) {
                return true;
            }
        }
        return false;
    }

    private static String refusal(String verb, String key) {
        return "jitgate: " + verb + " " + key.trim()
                + " is not allowed: the administrator fixes it for this Spark application";
    }
}
