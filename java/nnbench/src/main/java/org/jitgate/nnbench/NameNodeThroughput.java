package org.jitgate.nnbench;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.apache.hadoop.hdfs.server.namenode.NNThroughputBenchmark;
import org.apache.hadoop.security.UserGroupInformation;
import org.jitgate.JitGate;
import org.jitgate.hdfs.JitGateAttributeProvider;

/**
 * Hadoop's NNThroughputBenchmark against a NameNode with the default permission checker, one with an
 * attribute provider that changes nothing, and one with jitgate, all up side by side in one JVM,
 * each op run on each in every round.
 *
 * <p>The benchmark runs as the non-superuser {@code bench} ({@code -nonSuperUser}), since the
 * NameNode never sends its superuser to an enforcer. jitgate starts from a cached snapshot with
 * the zone {@code hdfs:/lake/sales} and a grant for {@code bench} on it; audit records of the
 * protected calls go to the local spill (no service), written by the core's audit thread.
 *
 * <p>Args: out-dir [ops] [files] [threads] [rounds] [grants], e.g.
 * {@code out open,fileStatus,create,mkdirs 20000 4 3 100000}. The first of several rounds warms
 * the JIT up and is not counted. {@code out memory default|jitgate [grants]} instead prints the
 * heap and RSS of a fresh JVM with the NameNode started (one JVM per mode, so neither inherits
 * the other's growth).
 */
public final class NameNodeThroughput {
    private static final String USER = "bench";
    /**
     * HDFS's own permission check; the same with an attribute provider that changes nothing (what
     * Hadoop's plugin API costs any authorizer, Ranger's included, before it decides anything);
     * jitgate. -Dnnbench.modes=default,jitgate leaves the provider out (its columns then repeat
     * default's).
     */
    private static final String[] MODES = System.getProperty("nnbench.modes", "default,provider,jitgate").split(",");
    /** -Dnnbench.time.checks=true: jitgate's NameNode times its checks (TimedJitGateProvider). */
    private static final boolean TIMED = Boolean.getBoolean("nnbench.time.checks");
    private static final Map<String, String> PLACES = new LinkedHashMap<>();

    static {
        PLACES.put("in-zone", "/lake/sales/nnbench");
        PLACES.put("outside", "/open/nnbench");
    }

    public static void main(String[] args) throws Exception {
        Tap tap = new Tap(System.out);
        System.setOut(new PrintStream(tap, true, StandardCharsets.UTF_8));
        Path out = Path.of(args[0]).toAbsolutePath();
        if (args.length > 2 && args[1].equals("memory")) {
            int n = args.length > 3 ? Integer.parseInt(args[3]) : 100000;
            MiniDFSCluster cluster = start(args[2], out.resolve("memory-" + args[2]), n);
            tap.report(memory(args[2], n));
            cluster.shutdown();
            System.exit(0);
        }
        if (!List.of(MODES).containsAll(List.of("default", "jitgate"))) {
            throw new IllegalArgumentException("-Dnnbench.modes must name default and jitgate (the ratios need"
                    + " both), not " + String.join(",", MODES));
        }
        String[] ops = (args.length > 1 ? args[1] : "open,fileStatus,create,mkdirs").split(",");
        int files = args.length > 2 ? Integer.parseInt(args[2]) : 20000;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 4;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        int grants = args.length > 5 ? Integer.parseInt(args[5]) : 100000;
        Files.createDirectories(out);

        // The NameNodes stay up for the whole run, and every round runs each op on each of them,
        // the order rotated from round to round, so drift of this shared machine hits all modes
        // alike and each round gives paired ratios.
        Map<String, MiniDFSCluster> clusters = new LinkedHashMap<>();
        for (String mode : MODES) {
            clusters.put(mode, start(mode, out.resolve(mode), grants));
        }
        Map<String, List<Double>> results = new LinkedHashMap<>();
        try {
            for (int round = 1; round <= rounds; round++) {
                boolean warmUp = rounds > 1 && round == 1;
                List<String> order = new ArrayList<>(List.of(MODES));
                Collections.rotate(order, round - 1);
                for (String op : ops) {
                    for (Map.Entry<String, String> place : PLACES.entrySet()) {
                        for (String mode : order) {
                            TimedJitGateProvider.reset();
                            long cpu = processCpuNanos();
                            long audit = auditThreadCpuNanos();
                            double opsPerSec = run(clusters.get(mode), tap, op, place.getValue(), files, threads);
                            double cpuMicrosPerOp = (processCpuNanos() - cpu) / 1e3 / files;
                            double auditMicrosPerOp = (auditThreadCpuNanos() - audit) / 1e3 / files;
                            String key = op + " " + place.getKey() + " " + mode;
                            if (!warmUp) {
                                results.computeIfAbsent(key, k -> new ArrayList<>()).add(opsPerSec);
                                results.computeIfAbsent(key + " cpu", k -> new ArrayList<>()).add(cpuMicrosPerOp);
                                results.computeIfAbsent(key + " audit", k -> new ArrayList<>()).add(auditMicrosPerOp);
                            }
                            String timed = "";
                            long checks = TimedJitGateProvider.CHECKS.sum();
                            if (TIMED && mode.equals("jitgate") && checks > 0) {
                                long all = TimedJitGateProvider.CHECK_NANOS.sum();
                                long hdfs = TimedJitGateProvider.HDFS_NANOS.sum();
                                double decoded = (double) TimedJitGateProvider.DECODED_COMPONENTS.sum() / files;
                                timed = String.format(" | %.2f checks/op, per check: hdfs %.0f ns, jitgate %.0f ns;"
                                                + " %.1f getAttributes calls/op decoding %.1f components/op",
                                        (double) checks / files, (double) hdfs / checks, (double) (all - hdfs) / checks,
                                        (double) TimedJitGateProvider.ATTRIBUTE_CALLS.sum() / files, decoded);
                                if (!warmUp) {
                                    results.computeIfAbsent(key + " jitgate-ns", k -> new ArrayList<>())
                                            .add((double) (all - hdfs) / checks);
                                    results.computeIfAbsent(key + " decoded", k -> new ArrayList<>()).add(decoded);
                                }
                            }
                            tap.report(String.format("round %d %-8s %-10s %-8s %10.0f ops/s %8.1f cpu-us/op %6.2f audit-us/op%s%s",
                                    round, mode, op, place.getKey(), opsPerSec, cpuMicrosPerOp, auditMicrosPerOp,
                                    warmUp ? " (warm-up)" : "", timed));
                        }
                    }
                }
            }
        } finally {
            for (MiniDFSCluster c : clusters.values()) {
                c.shutdown();
            }
        }
        tap.report("");
        tap.report("ops/s: medians of the counted rounds. jitgate/default: ratio of the medians, then the median");
        tap.report("(min-max) of the per-round ratios; provider/default: Hadoop's plugin API alone; jitgate/provider:");
        tap.report("median of the per-round ratios, what jitgate itself adds. cpu-us: process CPU time per op");
        tap.report("(NameNode, DataNode, benchmark clients, the set-up of the op's inputs); audit: jitgate's audit thread.");
        tap.report(String.format("%-10s %-8s %8s %8s %8s %7s %21s %9s %9s %6s %6s %6s %6s", "op", "paths", "default",
                "provider", "jitgate", "jg/def", "paired jg/def", "prov/def", "jg/prov", "cpu-d", "cpu-p", "cpu-j",
                "audit"));
        for (String op : ops) {
            for (String place : PLACES.keySet()) {
                String at = op + " " + place + " ";
                List<Double> base = results.get(at + "default");
                List<Double> bare = results.getOrDefault(at + "provider", base);
                List<Double> gate = results.get(at + "jitgate");
                List<Double> paired = ratios(gate, base);
                tap.report(String.format("%-10s %-8s %8.0f %8.0f %8.0f %6.1f%% %6.1f%% (%5.1f-%5.1f%%) %8.1f%% %8.1f%% %6.1f %6.1f %6.1f %6.2f",
                        op, place, median(base), median(bare), median(gate), 100 * median(gate) / median(base),
                        100 * median(paired), 100 * paired.stream().mapToDouble(d -> d).min().orElse(0),
                        100 * paired.stream().mapToDouble(d -> d).max().orElse(0),
                        100 * median(bare) / median(base), 100 * median(ratios(gate, bare)),
                        median(results.get(at + "default cpu")),
                        median(results.getOrDefault(at + "provider cpu", results.get(at + "default cpu"))),
                        median(results.get(at + "jitgate cpu")), median(results.get(at + "jitgate audit"))));
            }
        }
        if (TIMED) {
            double perComponent = decodeNanos();
            tap.report("");
            tap.report(String.format("jitgate's part of a permission check on the handler thread, and what Hadoop's"
                    + " plugin API made the NameNode decode per op (at %.1f ns a component, measured here),"
                    + " medians of the counted rounds:", perComponent));
            for (String op : ops) {
                for (String place : PLACES.keySet()) {
                    List<Double> ns = results.get(op + " " + place + " jitgate jitgate-ns");
                    List<Double> decoded = results.get(op + " " + place + " jitgate decoded");
                    if (ns != null) {
                        tap.report(String.format("%-10s %-8s %8.0f ns per check; %6.1f components decoded per op, %6.2f us",
                                op, place, median(ns), median(decoded), median(decoded) * perComponent / 1e3));
                    }
                }
            }
        }
        System.exit(0);
    }

    /**
     * ns per path component for what FSPermissionChecker#getINodeAttrs does with a provider
     * installed: a String[] per inode and DFSUtil.bytes2String for each component up to it, here on
     * the components of a path as the benchmark makes them. Warmed up before it is clocked.
     */
    private static double decodeNanos() {
        byte[][] path = org.apache.hadoop.hdfs.server.namenode.INode.getPathComponents(
                "/lake/sales/nnbench/create/ThroughputBenchDir0/ThroughputBench1234");
        long sink = 0;
        long components = 0;
        long start = 0;
        for (int pass = 0; pass < 2; pass++) {
            start = System.nanoTime();
            components = 0;
            for (int n = 0; n < 1_000_000; n++) {
                for (int inode = 0; inode < path.length; inode++) {
                    String[] elements = new String[inode + 1];
                    for (int i = 0; i <= inode; i++) {
                        elements[i] = org.apache.hadoop.hdfs.DFSUtil.bytes2String(path[i]);
                    }
                    sink += elements[inode].length();
                    components += inode + 1;
                }
            }
        }
        double ns = (double) (System.nanoTime() - start) / components;
        decodeSink = sink; // keeps the decoding from being optimised away
        return ns;
    }

    private static volatile long decodeSink;

    private static List<Double> ratios(List<Double> xs, List<Double> ys) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < xs.size(); i++) {
            out.add(xs.get(i) / ys.get(i));
        }
        return out;
    }

    /**
     * CPU time of the core's audit thread ("jitgate-audit", a native thread the JVM does not see),
     * from the kernel's per-thread schedstat; 0 while there is none.
     */
    private static long auditThreadCpuNanos() throws IOException {
        long total = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    if (Files.readString(task.resolve("comm")).strip().equals("jitgate-audit")) {
                        total += Long.parseLong(Files.readString(task.resolve("schedstat")).split(" ")[0]);
                    }
                } catch (IOException | RuntimeException gone) {
                    // the thread ended between listing and reading
                }
            }
        }
        return total;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static MiniDFSCluster start(String mode, Path dir, int grants) throws Exception {
        Configuration conf = new HdfsConfiguration();
        conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, true);
        conf.setLong(DFSConfigKeys.DFS_NAMENODE_MIN_BLOCK_SIZE_KEY, 16);
        if (mode.equals("provider")) {
            conf.set(DFSConfigKeys.DFS_NAMENODE_INODE_ATTRIBUTES_PROVIDER_KEY, UnchangedProvider.class.getName());
        }
        if (mode.equals("jitgate")) {
            // -Dnnbench.jitgate.cache=DIR puts the snapshot and the audit spill elsewhere (tmpfs,
            // another disk) than the NameNode's own files and edit log.
            String elsewhere = System.getProperty("nnbench.jitgate.cache");
            Path cache = elsewhere == null ? dir.resolve("jitgate-cache") : Path.of(elsewhere);
            Files.createDirectories(cache);
            conf.set(JitGate.PUBLIC_KEY, JitGate.writeSnapshot(cache, snapshot(grants)));
            conf.set(DFSConfigKeys.DFS_NAMENODE_INODE_ATTRIBUTES_PROVIDER_KEY,
                    (TIMED ? TimedJitGateProvider.class : JitGateAttributeProvider.class).getName());
            conf.set("jitgate.cache.dir", cache.toString());
            conf.set("jitgate.audit.spill.max.bytes", String.valueOf(8L << 30));
        }
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, dir.resolve("dfs").toFile()).numDataNodes(1).build();
        cluster.waitActive();
        FileSystem admin = cluster.getFileSystem();
        for (String d : new String[] {"/", "/lake", "/lake/sales", "/open"}) {
            admin.mkdirs(new org.apache.hadoop.fs.Path(d));
            admin.setPermission(new org.apache.hadoop.fs.Path(d), new FsPermission((short) 0777));
        }
        return cluster;
    }

    private static double run(MiniDFSCluster cluster, Tap tap, String op, String base, int files, int threads)
            throws Exception {
        List<String> args = new ArrayList<>(List.of("-fs", cluster.getURI().toString(), "-op", op,
                "-threads", String.valueOf(threads), "-baseDirName", base, "-nonSuperUser"));
        args.addAll(List.of(op.equals("mkdirs") ? "-dirs" : "-files", String.valueOf(files)));
        Configuration conf = new HdfsConfiguration(cluster.getConfiguration(0));
        tap.lastOpsPerSec = Double.NaN;
        UserGroupInformation.createUserForTesting(USER, new String[] {"analysts"})
                .doAs((PrivilegedExceptionAction<Void>) () -> {
                    NNThroughputBenchmark.runBenchmark(conf, args.toArray(new String[0]));
                    return null;
                });
        if (Double.isNaN(tap.lastOpsPerSec)) {
            throw new IllegalStateException("NNThroughputBenchmark printed no 'Ops per sec' for " + op);
        }
        return tap.lastOpsPerSec;
    }

    /**
     * An attribute provider that changes no attribute and keeps HDFS's own permission check. With
     * any provider installed, the NameNode decodes the path's components into Strings for each inode
     * of every permission check (FSPermissionChecker#getINodeAttrs); this mode measures that alone.
     * Like jitgate's, it takes file-status lookups as bytes.
     */
    public static final class UnchangedProvider extends INodeAttributeProvider {
        @Override
        public void start() {
        }

        @Override
        public void stop() {
        }

        @Override
        public INodeAttributes getAttributes(String[] pathElements, INodeAttributes inode) {
            return inode;
        }

        @Override
        public INodeAttributes getAttributes(byte[][] components, INodeAttributes inode) {
            return inode;
        }
    }

    /** Heap after a full GC and the process RSS, with the cluster (and for jitgate, its grants) loaded. */
    private static String memory(String mode, int grants) throws Exception {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long rss = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("VmRSS:")).map(l -> l.replaceAll("\\D", "")).mapToLong(Long::parseLong)
                .findFirst().orElse(-1) * 1024;
        return String.format("memory %-8s (%s): heap used %,d bytes, RSS %,d bytes", mode,
                mode.equals("jitgate") ? grants + " grants" : "no plugin", heap, rss);
    }

    /** A reset feed body as the core caches it: the zone and `n` grants, one of them for `bench`. */
    static String snapshot(int n) {
        Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
        String from = now.minusSeconds(60).toString();
        String to = now.plusSeconds(7200).toString();
        StringBuilder s = new StringBuilder("{\"cursor\":1,\"server_time\":\"").append(now).append("\",\"reset\":true,")
                .append("\"revoked\":[],\"zones\":[{\"name\":\"sales\",\"resources\":[\"hdfs:/lake/sales\"],")
                .append("\"approvers\":[\"sales-owners\"]}],\"grants\":[");
        for (int i = 0; i < n; i++) {
            String user = i == 0 ? USER : "user" + (i % 20000);
            String res = i == 0 ? "hdfs:/lake/sales" : "hdfs:/lake/sales/t" + (i % 1000);
            s.append(i == 0 ? "" : ",").append("{\"id\":\"g-").append(i).append("\",\"request_id\":\"r-").append(i)
                    .append("\",\"user\":\"").append(user).append("\",\"resources\":[\"").append(res)
                    .append("\"],\"actions\":[\"read\",\"write\",\"transform\"],\"not_before\":\"").append(from)
                    .append("\",\"expires_at\":\"").append(to).append("\"}");
        }
        return s.append("]}").toString();
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(Double::compare);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    /** Passes output through, keeping the last "Ops per sec" NNThroughputBenchmark printed. */
    static final class Tap extends OutputStream {
        private final PrintStream out;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        volatile double lastOpsPerSec = Double.NaN;

        Tap(PrintStream out) {
            this.out = out;
        }

        void report(String s) {
            out.println(s);
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                String l = line.toString(StandardCharsets.UTF_8);
                line.reset();
                int i = l.indexOf("Ops per sec:");
                if (i >= 0) {
                    lastOpsPerSec = Double.parseDouble(l.substring(i + "Ops per sec:".length()).trim());
                }
                if (l.contains("Ops per sec") || l.contains("Exception") || l.contains("ERROR")) {
                    out.println("  " + l);
                }
            } else {
                line.write(b);
            }
        }
    }
}
