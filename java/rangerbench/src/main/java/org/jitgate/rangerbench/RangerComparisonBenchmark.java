package org.jitgate.rangerbench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.SimpleDateFormat;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TimeZone;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.ranger.authorization.hadoop.config.RangerPluginConfig;
import org.apache.ranger.authorization.utils.JsonUtils;
import org.apache.ranger.plugin.model.RangerPolicy;
import org.apache.ranger.plugin.model.RangerPolicy.RangerPolicyItem;
import org.apache.ranger.plugin.model.RangerPolicy.RangerPolicyItemAccess;
import org.apache.ranger.plugin.model.RangerPolicy.RangerPolicyResource;
import org.apache.ranger.plugin.model.RangerServiceDef;
import org.apache.ranger.plugin.model.RangerValiditySchedule;
import org.apache.ranger.plugin.policyengine.RangerAccessRequestImpl;
import org.apache.ranger.plugin.policyengine.RangerAccessResourceImpl;
import org.apache.ranger.plugin.policyengine.RangerAccessResult;
import org.apache.ranger.plugin.policyengine.RangerPolicyEngineOptions;
import org.apache.ranger.plugin.service.RangerBasePlugin;
import org.apache.ranger.plugin.util.ServicePolicies;
import org.jitgate.Action;
import org.jitgate.Decision;
import org.jitgate.JitGate;
import org.openjdk.jmh.annotations.AuxCounters;
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
 * jitgate's JNI decision beside Apache Ranger's policy engine for the same HDFS paths, users and
 * grants. The Ranger side is {@code RangerBasePlugin.isAccessAllowed}, which RangerHdfsAuthorizer
 * calls for each NameNode permission check (its own path and FsAction glue is not measured: the
 * ranger-hdfs-plugin jar does not resolve from Maven Central).
 *
 * <p>The scene, on both sides: 1,000 zones ({@code /lake/sales}, {@code /lake/zone1..999}) and
 * {@code grants} time-bounded read grants, one of them alice's on {@code /lake/sales/orders}, the
 * others to users u1.. on {@code /lake/sales/t0..t99} (the same resources on both sides, so unlike
 * DecideBenchmark none under alice's path). In Ranger a zone is a recursive path policy
 * allowing its owners group, and a grant is a policy of its own with one allow item and a validity
 * schedule (what an approval workflow on Ranger Admin would create per approval).
 *
 * <p>Each side's scene is its own state, so a fork only builds the side it measures (and the other
 * side's heap does not sit in its JVM). Each benchmark counts the answers that differ from the
 * expected one ({@code :unexpected} rows of the result table): jitgate's allow also hands an audit
 * record to its queue, and a full queue turns the allow into a denial (code 4), which must not go
 * unnoticed.
 *
 * <p>Run: {@code benches/rangerbench.sh [JMH options]}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RangerComparisonBenchmark {
    static final String USER = "alice";
    static final String OUTSIDE = "/warehouse/events/2026/11/27/hour=21/part-00017.parquet";
    static final String IN_ZONE = "/lake/sales/orders/2026/11/27/part-00017.parquet";
    static final String ALICE_GRANT = "/lake/sales/orders";
    static final int ZONES = 1000;

    static String zonePath(int i) {
        return i == 0 ? "/lake/sales" : "/lake/zone" + i;
    }

    /** Grant {@code i}'s user and path; grant 0 is alice's. */
    static String grantUser(int i) {
        return i == 0 ? USER : "u" + i;
    }

    static String grantPath(int i) {
        return i == 0 ? ALICE_GRANT : "/lake/sales/t" + (i % 100);
    }

    // ---------------------------------------------------------------- jitgate

    @State(Scope.Benchmark)
    public static class JitGateScene {
        @Param({"10", "100000"})
        public int grants;

        JitGate engine;
        Path cache;
        /** The last answer that was not the expected one, or -1. */
        int lastUnexpected = -1;

        @Setup(Level.Trial)
        public void start() throws IOException {
            long t0 = System.nanoTime();
            cache = Files.createTempDirectory("jitgate-rangerbench");
            Path snapshot = cache.resolve("snapshot.json");
            String key = JitGate.writeSnapshot(cache, snapshot(grants));
            long written = System.nanoTime();
            // Measured across open() only, once the JSON text is garbage: the RSS it adds is the core's.
            Memory before = Memory.now();
            long t1 = System.nanoTime();
            engine = JitGate.open(Map.of(
                    "jitgate.cache.dir", cache.toString(),
                    JitGate.PUBLIC_KEY, key,
                    "jitgate.plugin", "bench",
                    // the audit thread drains the queue within milliseconds (the batches pause for it)
                    "jitgate.audit.flush.millis", "5",
                    // No service: audit records go to the spill file; a limit would turn allows into denials.
                    "jitgate.audit.spill.max.bytes", String.valueOf(1L << 40)));
            long opened = System.nanoTime();
            Memory after = Memory.now();

            expect(USER, OUTSIDE, Decision.NOT_PROTECTED);
            expect(USER, IN_ZONE, Decision.ALLOW);
            expect("bob", IN_ZONE, Decision.DENY_NO_GRANT);
            expect("u1", IN_ZONE, Decision.DENY_NO_GRANT);
            System.out.printf("%njitgate scene: %d zones, %d grants: snapshot.json (%d MB) written in %d ms,"
                            + " engine open (snapshot loaded) in %d ms; across open: %s%n", ZONES, grants,
                    Files.size(snapshot) >> 20, (written - t0) / 1_000_000, (opened - t1) / 1_000_000,
                    after.since(before));
        }

        private void expect(String user, String path, int want) {
            int got = engine.decide(user, path, Action.READ, "open", null);
            if (got != want) {
                throw new IllegalStateException("jitgate: " + user + " reading " + path + ": decide() returned " + got
                        + " (" + engine.explain(user, path, Action.READ, got) + "), expected " + want);
            }
        }

        @TearDown(Level.Trial)
        public void stop() throws IOException {
            String unexpected = lastUnexpected < 0 ? ""
                    : "; last unexpected answer: " + lastUnexpected + " ("
                            + engine.explain(USER, IN_ZONE, Action.READ, lastUnexpected) + ")";
            engine.close();
            Path spill = cache.resolve("audit-spill.jsonl");
            long spilled = Files.exists(spill) ? Files.size(spill) : 0;
            System.out.printf("%njitgate: audit spill %d MB%s%n", spilled >> 20, unexpected);
            // The spill grows by every allowed or denied protected call; leave no GBs in /tmp.
            try (Stream<Path> files = Files.walk(cache)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }

        /** A reset feed body as the core caches it (the shape of java/bench's DecideBenchmark). */
        static String snapshot(int n) {
            Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
            String from = now.minusSeconds(60).toString();
            String to = now.plusSeconds(3600).toString();
            StringBuilder s = new StringBuilder("{\"cursor\":1,\"server_time\":\"").append(now)
                    .append("\",\"reset\":true,\"revoked\":[],\"zones\":[");
            for (int i = 0; i < ZONES; i++) {
                s.append(i == 0 ? "" : ",").append("{\"name\":\"z").append(i).append("\",\"resources\":[\"hdfs:")
                        .append(zonePath(i)).append("\"],\"approvers\":[\"owners\"]}");
            }
            s.append("],\"grants\":[");
            for (int i = 0; i < n; i++) {
                s.append(i == 0 ? "" : ",").append("{\"id\":\"g-").append(i).append("\",\"request_id\":\"r-").append(i)
                        .append("\",\"user\":\"").append(grantUser(i)).append("\",\"resources\":[\"hdfs:")
                        .append(grantPath(i)).append("\"],\"actions\":[\"read\"],\"not_before\":\"").append(from)
                        .append("\",\"expires_at\":\"").append(to).append("\"}");
            }
            return s.append("]}").toString();
        }
    }

    @Benchmark
    public int jitgateOutsideZones(JitGateScene s, Answers a) {
        return jitgateDecide(s, a, OUTSIDE, Decision.NOT_PROTECTED);
    }

    @Benchmark
    public int jitgateProtectedAllowed(JitGateScene s, Answers a) {
        return jitgateDecide(s, a, IN_ZONE, Decision.ALLOW);
    }

    /** Decisions per timed batch of {@link #jitgateProtectedAllowedInBatches}; the queue holds 65,536 records. */
    static final int BATCH = 20_000;

    /** The pause before each batch, in which jitgate's audit thread writes the last one out. */
    @State(Scope.Thread)
    public static class Drained {
        @Setup(Level.Invocation)
        public void pause() throws InterruptedException {
            Thread.sleep(150);
        }
    }

    /**
     * {@link #jitgateProtectedAllowed} without its full queue: deciding without pause, jitgate makes
     * audit records faster than the spill file takes them, and most allows become denials (the
     * {@code :unexpected} row). Here each batch is timed on its own into an empty queue, and every
     * decision of it must be an allow.
     */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OperationsPerInvocation(BATCH)
    @Warmup(iterations = 20, batchSize = 1)
    @Measurement(iterations = 40, batchSize = 1)
    public int jitgateProtectedAllowedInBatches(JitGateScene s, Drained queue) {
        int allowed = 0;
        for (int i = 0; i < BATCH; i++) {
            if (s.engine.decide(USER, IN_ZONE, Action.READ, "open", null) == Decision.ALLOW) {
                allowed++;
            }
        }
        if (allowed != BATCH) {
            throw new IllegalStateException((BATCH - allowed) + " of " + BATCH
                    + " decisions were not allowed: the audit queue filled, so the figure would not be an allow's");
        }
        return allowed;
    }

    /** alice reading {@code path}, as the NameNode plugin asks; an answer other than {@code expected} is counted. */
    private static int jitgateDecide(JitGateScene s, Answers a, String path, int expected) {
        int code = s.engine.decide(USER, path, Action.READ, "open", null);
        a.calls++;
        if (code != expected) {
            a.unexpected++;
            s.lastUnexpected = code;
        }
        return code;
    }

    // ---------------------------------------------------------------- Ranger

    @State(Scope.Benchmark)
    public static class RangerScene {
        static final String SERVICE = "rangerbench_hdfs";

        @Param({"10", "100000"})
        public int grants;

        RangerBasePlugin plugin;
        /** The last answer that was not the expected one, or null. */
        RangerAccessResult lastUnexpected;

        @Setup(Level.Trial)
        public void start() {
            Memory before = Memory.now();
            long t0 = System.nanoTime();
            List<RangerPolicy> policies = policies(grants);
            long built = System.nanoTime();
            plugin = plugin(policies);
            long ready = System.nanoTime();
            Memory after = Memory.now();

            RangerAccessResult alice = isAccessAllowed(USER, IN_ZONE);
            if (!alice.getIsAllowed() || alice.getPolicyId() != ZONES + 1) {
                throw new IllegalStateException("Ranger, alice in her grant: expected allowed by policy "
                        + (ZONES + 1) + ", got " + alice);
            }
            for (String other : List.of("bob", "u1")) {
                RangerAccessResult r = isAccessAllowed(other, IN_ZONE);
                if (r.getIsAllowed()) {
                    throw new IllegalStateException("Ranger, " + other + " in the zone without a grant: allowed: " + r);
                }
                System.out.printf("%nRanger, %s in the zone without a grant: allowed=%s determined=%s policy=%d",
                        other, r.getIsAllowed(), r.getIsAccessDetermined(), r.getPolicyId());
            }
            RangerAccessResult outside = isAccessAllowed(USER, OUTSIDE);
            System.out.printf("%nRanger, alice outside every zone: allowed=%s determined=%s policy=%d"
                            + " (not determined: the NameNode falls back to HDFS permissions)%n",
                    outside.getIsAllowed(), outside.getIsAccessDetermined(), outside.getPolicyId());
            System.out.printf("Ranger scene: %d zone policies + %d grant policies: built in %d ms, plugin ready"
                            + " %d ms later; %s%n", ZONES, grants, (built - t0) / 1_000_000,
                    (ready - built) / 1_000_000, after.since(before));
        }

        @TearDown(Level.Trial)
        public void stop() {
            plugin.cleanup();
            if (lastUnexpected != null) {
                System.out.printf("%nRanger: last unexpected answer: %s%n", lastUnexpected);
            }
        }

        /** Per check, as RangerHdfsAuthorizer builds it (RangerHdfsAccessRequest), minus the caller's IP. */
        RangerAccessResult isAccessAllowed(String user, String path) {
            RangerAccessResourceImpl resource = new RangerAccessResourceImpl();
            resource.setValue("path", path);
            resource.setOwnerUser("etl");
            RangerAccessRequestImpl request = new RangerAccessRequestImpl(resource, "read", user, Set.of(), Set.of());
            request.setAccessTime(new Date());
            request.setAction("open");
            return plugin.isAccessAllowed(request, null);
        }

        /** Zone policies 1..1000, then one policy per grant (alice's is 1001). */
        static List<RangerPolicy> policies(int n) {
            List<RangerPolicy> policies = new ArrayList<>(ZONES + n);
            for (int i = 0; i < ZONES; i++) {
                RangerPolicyItem owners = item(List.of(), List.of("owners"), "read", "write", "execute");
                policies.add(policy(i + 1, "zone z" + i, zonePath(i), owners, null));
            }
            // Ranger's schedule format has no zone; the times are GMT, Ranger's default schedule zone.
            SimpleDateFormat format = new SimpleDateFormat(RangerValiditySchedule.VALIDITY_SCHEDULE_DATE_STRING_SPECIFICATION);
            format.setTimeZone(TimeZone.getTimeZone("GMT"));
            long now = System.currentTimeMillis();
            RangerValiditySchedule window = new RangerValiditySchedule(format.format(new Date(now - 60_000)),
                    format.format(new Date(now + 3_600_000)), "GMT", null);
            for (int i = 0; i < n; i++) {
                RangerPolicyItem grant = item(List.of(grantUser(i)), List.of(), "read");
                policies.add(policy(ZONES + 1 + i, "grant g-" + i, grantPath(i), grant, window));
            }
            return policies;
        }

        static RangerPolicyItem item(List<String> users, List<String> groups, String... accessTypes) {
            List<RangerPolicyItemAccess> accesses = new ArrayList<>();
            for (String type : accessTypes) {
                accesses.add(new RangerPolicyItemAccess(type, true));
            }
            return new RangerPolicyItem(accesses, new ArrayList<>(users), new ArrayList<>(groups), new ArrayList<>(),
                    new ArrayList<>(), false);
        }

        static RangerPolicy policy(long id, String name, String path, RangerPolicyItem item, RangerValiditySchedule window) {
            RangerPolicy p = new RangerPolicy();
            p.setId(id);
            p.setVersion(1L);
            p.setService(SERVICE);
            p.setName(name);
            p.setIsEnabled(true);
            p.setIsAuditEnabled(true);
            Map<String, RangerPolicyResource> resources = new HashMap<>();
            resources.put("path", new RangerPolicyResource(new ArrayList<>(List.of(path)), false, true));
            p.setResources(resources);
            p.setPolicyItems(new ArrayList<>(List.of(item)));
            if (window != null) {
                p.setValiditySchedules(new ArrayList<>(List.of(window)));
            }
            return p;
        }

        /**
         * A Ranger HDFS plugin holding {@code policies} as downloaded from Ranger Admin, with Ranger's own
         * hdfs service definition; policy refresher, tag and user-store retrievers off (no Admin), Ranger's
         * audit off (ranger-hdfs-audit.xml).
         */
        static RangerBasePlugin plugin(List<RangerPolicy> policies) {
            RangerPolicyEngineOptions options = new RangerPolicyEngineOptions();
            options.disablePolicyRefresher = true;
            options.disableTagRetriever = true;
            options.disableUserStoreRetriever = true;
            RangerPluginConfig config = new RangerPluginConfig("hdfs", SERVICE, "hdfs", null, null, options);

            ServicePolicies download = new ServicePolicies();
            download.setServiceName(SERVICE);
            download.setServiceId(1L);
            download.setPolicyVersion(1L);
            download.setPolicyUpdateTime(new Date());
            download.setServiceDef(hdfsServiceDef());
            download.setPolicies(policies);
            return new RangerBasePlugin(config, download, null, null);
        }

        static RangerServiceDef hdfsServiceDef() {
            try (InputStream in = RangerServiceDef.class.getResourceAsStream("/service-defs/ranger-servicedef-hdfs.json")) {
                if (in == null) {
                    throw new IllegalStateException("ranger-plugins-common without /service-defs/ranger-servicedef-hdfs.json");
                }
                return JsonUtils.jsonToObject(new String(in.readAllBytes(), StandardCharsets.UTF_8), RangerServiceDef.class);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Benchmark
    public RangerAccessResult rangerOutsideZones(RangerScene s, Answers a) {
        RangerAccessResult r = s.isAccessAllowed(USER, OUTSIDE);
        a.calls++;
        if (r.getIsAccessDetermined()) {
            a.unexpected++;
            s.lastUnexpected = r;
        }
        return r;
    }

    @Benchmark
    public RangerAccessResult rangerProtectedAllowed(RangerScene s, Answers a) {
        RangerAccessResult r = s.isAccessAllowed(USER, IN_ZONE);
        a.calls++;
        if (!r.getIsAllowed()) {
            a.unexpected++;
            s.lastUnexpected = r;
        }
        return r;
    }

    /**
     * Answers that were not the expected one, per iteration: a figure for a decision that was not
     * the one named would compare different work.
     */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.EVENTS)
    public static class Answers {
        /** This iteration's calls whose answer was not the expected one (a row of the result table). */
        public long unexpected;
        long calls;
        long unexpectedInTrial;

        @Setup(Level.Iteration)
        public void clear() {
            unexpected = 0;
        }

        @TearDown(Level.Iteration)
        public void add() {
            unexpectedInTrial += unexpected;
        }

        @TearDown(Level.Trial)
        public void report() {
            System.out.printf("%n%d of %d calls, warm-up included, gave another answer than expected%n",
                    unexpectedInTrial, calls);
        }
    }

    // ---------------------------------------------------------------- memory

    /** Heap after a full GC and the process's resident set (which holds jitgate's native snapshot). */
    record Memory(long heapBytes, long rssBytes) {
        static Memory now() {
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            return new Memory(heap, rss());
        }

        String since(Memory before) {
            return String.format("heap after GC %d MB (+%d MB), RSS %d MB (+%d MB), max heap %d MB",
                    heapBytes >> 20, (heapBytes - before.heapBytes) >> 20, rssBytes >> 20,
                    (rssBytes - before.rssBytes) >> 20, Runtime.getRuntime().maxMemory() >> 20);
        }

        private static long rss() {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
            } catch (IOException | NumberFormatException e) {
                // not Linux: report 0
            }
            return 0;
        }
    }
}
