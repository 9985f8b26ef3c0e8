package org.jitgate.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jitgate.Action;
import org.jitgate.Decision;
import org.jitgate.JitGate;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One decision through JNI, as the NameNode plugin makes it: the resource is the NameNode's own
 * path string (a bare absolute path), the user a String that the core reads only when the path is
 * protected. The engine starts from a cached snapshot of 1,000 zones and {@code grants} grants.
 *
 * <p>{@code outsideZones} is what most NameNode calls cost. A protected decision also reads the user
 * and operation and hands its audit record to the audit queue, which the audit thread drains to the
 * spill file (no service here). One thread deciding without pause makes records faster than the
 * disk takes them, so a queue that filled would change what is measured (a full queue refuses the
 * record, and an allow becomes a denial). The protected benchmarks therefore decide in batches of
 * {@link #BATCH}, each timed on its own into an empty queue, with a pause between batches for the
 * audit thread to write them out; a batch fails if any of its decisions is not the one expected.
 *
 * <p>Run: {@code java -jar java/bench/target/benchmarks.jar DecideBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DecideBenchmark {
    @Param({"10", "100000"})
    public int grants;

    private JitGate engine;
    private Path cache;

    private final String user = "alice";
    private final String outside = "/warehouse/events/2026/11/27/hour=21/part-00017.parquet";
    private final String inZone = "/lake/sales/orders/2026/11/27/part-00017.parquet";
    /** Holds the one grant on the path, {@code hdfs:/lake/sales/orders}. */
    private final String granted = "bench";

    /** Decisions per timed batch; the queue holds 65,536 records. */
    static final int BATCH = 20_000;

    @Setup(Level.Trial)
    public void start() throws IOException {
        cache = Files.createTempDirectory("jitgate-bench");
        String key = JitGate.writeSnapshot(cache, snapshot(grants));
        engine = JitGate.open(Map.of(
                "jitgate.cache.dir", cache.toString(),
                JitGate.PUBLIC_KEY, key,
                "jitgate.plugin", "bench",
                "jitgate.audit.flush.millis", "5",
                "jitgate.audit.spill.max.bytes", String.valueOf(1L << 40)));
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
        engine.close();
        // The spill grows by a record per protected call, gigabytes in a run.
        try (Stream<Path> files = Files.walk(cache)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Benchmark
    public int outsideZones() {
        return engine.decide(user, outside, Action.READ, "open", null);
    }

    /** The pause before each batch, in which the audit thread writes the last one out. */
    @State(Scope.Thread)
    public static class Drained {
        @Setup(Level.Invocation)
        public void pause() throws InterruptedException {
            Thread.sleep(150);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OperationsPerInvocation(BATCH)
    @Warmup(iterations = 20, batchSize = 1)
    @Measurement(iterations = 40, batchSize = 1)
    public int protectedAllowed(Drained queue) {
        return batch(granted, Decision.ALLOW);
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OperationsPerInvocation(BATCH)
    @Warmup(iterations = 20, batchSize = 1)
    @Measurement(iterations = 40, batchSize = 1)
    public int protectedNoGrant(Drained queue) {
        return batch(user, Decision.DENY_NO_GRANT);
    }

    /** {@link #BATCH} decisions of {@code who} reading the protected path, each of which must be {@code expected}. */
    private int batch(String who, int expected) {
        int as = 0;
        for (int i = 0; i < BATCH; i++) {
            if (engine.decide(who, inZone, Action.READ, "open", null) == expected) {
                as++;
            }
        }
        if (as != BATCH) {
            // a full audit queue turns an allow into code 4: the figure would not be an allow's
            throw new IllegalStateException((BATCH - as) + " of " + BATCH + " decisions were not " + expected);
        }
        return as;
    }

    /** A reset feed body as the core caches it: 1,000 zones, bench's grant and n - 1 grants to other users. */
    static String snapshot(int n) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        String from = now.minusSeconds(60).toString();
        String to = now.plusSeconds(3600).toString();
        StringBuilder s = new StringBuilder("{\"cursor\":1,\"server_time\":\"").append(now)
                .append("\",\"reset\":true,\"revoked\":[],\"zones\":[");
        for (int i = 0; i < 1000; i++) {
            String res = i == 0 ? "hdfs:/lake/sales" : "hdfs:/lake/zone" + i;
            s.append(i == 0 ? "" : ",").append("{\"name\":\"z").append(i).append("\",\"resources\":[\"")
                    .append(res).append("\"],\"approvers\":[\"owners\"]}");
        }
        s.append("],\"grants\":[{\"id\":\"g-bench\",\"request_id\":\"r-bench\",\"user\":\"bench\",")
                .append("\"resources\":[\"hdfs:/lake/sales/orders\"],\"actions\":[\"read\"],\"not_before\":\"")
                .append(from).append("\",\"expires_at\":\"").append(to).append("\"}");
        for (int i = 1; i < n; i++) {
            s.append(",{\"id\":\"g-").append(i).append("\",\"request_id\":\"r-").append(i)
                    .append("\",\"user\":\"u").append(i).append("\",\"resources\":[\"hdfs:/lake/sales/orders/")
                    .append(i % 100).append("\"],\"actions\":[\"read\"],\"not_before\":\"").append(from)
                    .append("\",\"expires_at\":\"").append(to).append("\"}");
        }
        return s.append("]}").toString();
    }
}
