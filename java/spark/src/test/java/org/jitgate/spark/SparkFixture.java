package org.jitgate.spark;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.UndeclaredThrowableException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.time.Duration;
import java.util.Map;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.SparkSession;
import org.jitgate.testkit.JitGateService;

/** A local Spark session with the Hive catalog on embedded Derby, and the helpers the tests share. */
final class SparkFixture {
    static final String APPROVER = "carol";
    static final String APPROVERS = "sales-owners";

    private SparkFixture() {
    }

    /**
     * {@code local[2]}, Hive catalog (Derby) and warehouse under {@code dir}, jitgate enabled by
     * {@code spark.sql.extensions} (the ServiceLoader entry would find it too) and configured with
     * {@code spark.jitgate.*} keys.
     */
    static SparkSession start(Path dir, JitGateService service, Map<String, String> extra) throws Exception {
        Path warehouse = Files.createDirectories(dir.resolve("warehouse"));
        System.setProperty("derby.system.home", dir.toString());
        SparkSession.Builder b = SparkSession.builder()
                .master("local[2]")
                .appName("jitgate-spark-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.sql.warehouse.dir", warehouse.toUri().toString())
                .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                        "jdbc:derby:;databaseName=" + dir.resolve("metastore_db") + ";create=true")
                .config("spark.sql.extensions", JitGateExtension.class.getName())
                .config("spark.jitgate.service.url", service.url())
                .config("spark.jitgate.service.token.file", service.tokensFile().toString())
                .config("spark.jitgate.service.public.key.file", service.publicKeyFile().toString())
                .config("spark.jitgate.cache.dir", dir.resolve("jitgate-cache").toString())
                .enableHiveSupport();
        extra.forEach(b::config);
        return b.getOrCreate();
    }

    /** Runs {@code action} as {@code user} (a Hadoop remote user, as a proxy user would be). */
    static <T> T as(String user, PrivilegedExceptionAction<T> action) throws Exception {
        try {
            return UserGroupInformation.createRemoteUser(user).doAs(action);
        } catch (UndeclaredThrowableException e) {
            // doAs wraps checked exceptions other than IOException, such as AnalysisException.
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    /** Retries every 25 ms until {@code action} stops throwing; fails with its last error after {@code bound}. */
    static <T> T eventually(Duration bound, String what, PrivilegedExceptionAction<T> action) throws Exception {
        return eventually(bound, Duration.ofMillis(25), what, action);
    }

    /**
     * Retries every {@code pause} until {@code action} stops throwing; fails with its last error
     * after {@code bound}.
     */
    static <T> T eventually(Duration bound, Duration pause, String what, PrivilegedExceptionAction<T> action)
            throws Exception {
        long deadline = System.nanoTime() + bound.toNanos();
        while (true) {
            try {
                return action.run();
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(what + " did not happen within " + bound, e);
                }
                Thread.sleep(pause.toMillis());
            }
        }
    }

    /** Retries until {@code action} throws an {@link AnalysisException}; returns it. */
    static AnalysisException eventuallyDenied(Duration bound, String what, PrivilegedExceptionAction<?> action)
            throws Exception {
        return eventually(bound, what, () -> {
            try {
                action.run();
            } catch (AnalysisException denied) {
                return denied;
            }
            throw new IllegalStateException("still allowed");
        });
    }

    /** A jitgate denial of {@code user} doing {@code action} on {@code resource}, with the request link. */
    static void assertDenial(Throwable e, String user, String action, String resource) {
        assertTrue(e instanceof AnalysisException, "expected an AnalysisException, got " + e);
        String first = e.getMessage().lines().findFirst().orElse("");
        assertTrue(first.startsWith("jitgate: ") && first.contains(user + " ") && first.contains(action)
                        && first.contains(resource) && first.contains("/request?resource="),
                "expected a jitgate denial of " + user + " " + action + " " + resource + ", got: " + e.getMessage());
    }
}
