package org.jitgate.nnbench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.hdfs.server.namenode.INode;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AccessControlEnforcer;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AuthorizationContext;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.apache.hadoop.security.UserGroupInformation;
import org.jitgate.JitGate;
import org.jitgate.hdfs.JitGateAttributeProvider;

/**
 * jitgate's enforcer alone, without a NameNode: nanoseconds per permission check through the
 * provider's public API, with an HDFS enforcer that allows everything, for the checks the NameNode
 * makes most. Each batch of 40,000 checks is timed on its own after a pause in which the audit
 * thread drains what the batch queued; the best batch of each kind is printed.
 *
 * <p>{@code benches/enforcer.sh} runs it.
 */
public final class EnforcerLoop {
    private static final int BATCH = 40_000;
    private static final int ROUNDS = 30;
    private static final int WARM_UP = 6;

    public static void main(String[] args) throws Exception {
        Path cache = Files.createTempDirectory("jitgate-enforcer-loop");
        Instant now = Instant.now();
        String key = JitGate.writeSnapshot(cache, "{\"cursor\":1,\"server_time\":\"" + now + "\",\"reset\":true,\"revoked\":[],"
                + "\"zones\":[{\"name\":\"sales\",\"resources\":[\"hdfs:/lake/sales\"]}],"
                + "\"grants\":[{\"id\":\"g-1\",\"request_id\":\"r-1\",\"user\":\"bench\",\"resources\":[\"hdfs:/lake/sales\"],"
                + "\"actions\":[\"read\",\"write\"],\"not_before\":\"" + now.minusSeconds(60) + "\",\"expires_at\":\""
                + now.plusSeconds(3600) + "\"}]}");
        Configuration conf = new Configuration(false);
        conf.set("jitgate.cache.dir", cache.toString());
        conf.set(JitGate.PUBLIC_KEY, key);
        conf.set("jitgate.audit.spill.max.bytes", String.valueOf(1L << 40));
        conf.set("jitgate.audit.flush.millis", "5");
        JitGateAttributeProvider provider = new JitGateAttributeProvider();
        provider.setConf(conf);
        provider.start();
        AccessControlEnforcer enforcer = provider.getExternalAccessControlEnforcer(new AllowAll());

        UserGroupInformation bench = UserGroupInformation.createUserForTesting("bench", new String[] {"g"});
        String in = "/lake/sales/orders/2026/11/27/part-00017.parquet";
        String out = "/open/orders/2026/11/27/part-00017.parquet";
        String[] names = {"traverse (stat), outside", "traverse (stat), in a zone", "read, outside",
            "read in a zone, allowed", "create in a zone, allowed"};
        AuthorizationContext[] checks = {
            check(bench, out, null, null, "getfileinfo"),
            check(bench, in, null, null, "getfileinfo"),
            check(bench, out, null, FsAction.READ, "open"),
            check(bench, in, null, FsAction.READ, "open"),
            check(bench, in, FsAction.WRITE, null, "create"),
        };
        long[] best = new long[checks.length];
        Arrays.fill(best, Long.MAX_VALUE);
        for (int round = 0; round < ROUNDS; round++) {
            for (int k = 0; k < checks.length; k++) {
                long start = System.nanoTime();
                for (int i = 0; i < BATCH; i++) {
                    enforcer.checkPermissionWithContext(checks[k]);
                }
                long ns = (System.nanoTime() - start) / BATCH;
                if (round >= WARM_UP) {
                    best[k] = Math.min(best[k], ns);
                }
                Thread.sleep(60);
            }
        }
        for (int k = 0; k < checks.length; k++) {
            System.out.printf("%-28s %5d ns per check (best of %d batches of %,d)%n", names[k], best[k],
                    ROUNDS - WARM_UP, BATCH);
        }
        provider.stop();
        JitGate.closeShared();
    }

    private static AuthorizationContext check(UserGroupInformation ugi, String path, FsAction ancestor,
                                              FsAction access, String operation) {
        return new AuthorizationContext.Builder().callerUgi(ugi).path(path).ancestorAccess(ancestor)
                .access(access).operationName(operation).build();
    }

    /** HDFS's own check, allowing everything, so only jitgate's part is timed. */
    private static final class AllowAll implements AccessControlEnforcer {
        @Override
        public void checkPermission(String fsOwner, String supergroup, UserGroupInformation callerUgi,
                                    INodeAttributes[] inodeAttrs, INode[] inodes, byte[][] pathByNameArr,
                                    int snapshotId, String path, int ancestorIndex, boolean doCheckOwner,
                                    FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                                    FsAction subAccess, boolean ignoreEmptyDir) {
        }

        @Override
        public void checkPermissionWithContext(AuthorizationContext ctx) {
        }
    }
}
