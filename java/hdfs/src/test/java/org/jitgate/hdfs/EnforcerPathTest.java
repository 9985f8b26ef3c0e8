package org.jitgate.hdfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.PrivilegedExceptionAction;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.namenode.INode;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AccessControlEnforcer;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AuthorizationContext;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.util.VersionInfo;
import org.jitgate.JitGate;
import org.jitgate.testkit.JitGateService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which of the enforcer's two entry points a real NameNode calls, on the Hadoop this suite runs
 * on, and that jitgate decides through both. Every NameNode from 3.3 on takes
 * {@code checkPermissionWithContext} for an enforcer that declares it (FSDirectory looks once, at
 * start), but only for a call that set its operation name: on 3.3 and 3.4 a create (and
 * getStoragePolicy, getPreferredBlockSize, recoverLease, getAdditionalDatanode, abandonBlock,
 * complete, fsync) sets none and reaches the legacy {@code checkPermission}; 3.5 names every
 * call. The recording enforcer wraps jitgate's as the NameNode sees it.
 */
class EnforcerPathTest {
    private static final Map<String, String> ENTRY_BY_CALL = new ConcurrentHashMap<>();

    private static JitGateService service;
    private static MiniDFSCluster cluster;

    /** jitgate's provider with its enforcer behind one that records the entry point of each call. */
    public static class RecordingProvider extends JitGateAttributeProvider {
        @Override
        public AccessControlEnforcer getExternalAccessControlEnforcer(AccessControlEnforcer hdfs) {
            return new Recording(super.getExternalAccessControlEnforcer(hdfs));
        }
    }

    private record Recording(AccessControlEnforcer jitgate) implements AccessControlEnforcer {
        @Override
        public void checkPermissionWithContext(AuthorizationContext ctx) throws AccessControlException {
            ENTRY_BY_CALL.put(String.valueOf(RpcCall.method()), "context");
            jitgate.checkPermissionWithContext(ctx);
        }

        @Override
        public void checkPermission(String fsOwner, String supergroup, UserGroupInformation callerUgi,
                                    INodeAttributes[] inodeAttrs, INode[] inodes, byte[][] pathByNameArr,
                                    int snapshotId, String path, int ancestorIndex, boolean doCheckOwner,
                                    FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                                    FsAction subAccess, boolean ignoreEmptyDir)
                throws AccessControlException {
            ENTRY_BY_CALL.put(String.valueOf(RpcCall.method()), "legacy");
            jitgate.checkPermission(fsOwner, supergroup, callerUgi, inodeAttrs, inodes, pathByNameArr,
                    snapshotId, path, ancestorIndex, doCheckOwner, ancestorAccess, parentAccess, access,
                    subAccess, ignoreEmptyDir);
        }
    }

    @BeforeAll
    static void startServiceAndCluster(@TempDir java.nio.file.Path dir) throws Exception {
        service = JitGateService.start(dir);
        Configuration conf = new HdfsConfiguration();
        conf.set(DFSConfigKeys.DFS_NAMENODE_INODE_ATTRIBUTES_PROVIDER_KEY, RecordingProvider.class.getName());
        conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, true);
        conf.set("jitgate.service.url", service.url());
        conf.set("jitgate.service.token.file", service.tokensFile().toString());
        conf.set("jitgate.service.public.key.file", service.publicKeyFile().toString());
        conf.set("jitgate.cache.dir", dir.resolve("plugin-cache").toString());
        cluster = new MiniDFSCluster.Builder(conf, dir.resolve("dfs").toFile()).numDataNodes(1).build();
        cluster.waitActive();
        FileSystem superuser = cluster.getFileSystem();
        for (String d : new String[] {"/", "/lake", "/lake/sales"}) {
            superuser.mkdirs(new Path(d));
            superuser.setPermission(new Path(d), new FsPermission((short) 0777));
        }
        superuser.create(new Path("/lake/sales/part-0")).close();
        superuser.setPermission(new Path("/lake/sales/part-0"), new FsPermission((short) 0644));
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.shutdown();
        }
        if (service != null) {
            service.close();
        }
        JitGate.closeShared();
    }

    /** What {@code call} does as alice, who holds no grant, is denied by jitgate. */
    private static void denied(FileSystemCall call) {
        UserGroupInformation alice = UserGroupInformation.createUserForTesting("alice", new String[] {"analysts"});
        AccessControlException e = assertThrows(AccessControlException.class,
                () -> alice.doAs((PrivilegedExceptionAction<Void>) () -> {
                    try (FileSystem fs = FileSystem.newInstance(cluster.getURI(), cluster.getConfiguration(0))) {
                        call.run(fs);
                    }
                    return null;
                }));
        assertTrue(e.getMessage().startsWith("jitgate: alice"), e.getMessage());
    }

    private interface FileSystemCall {
        void run(FileSystem fs) throws Exception;
    }

    @Test
    void anOpenComesThroughTheContextEntryAndIsDecided() {
        denied(fs -> fs.open(new Path("/lake/sales/part-0")).close());
        assertEquals("context", ENTRY_BY_CALL.get("getBlockLocations"), ENTRY_BY_CALL.toString());
    }

    @Test
    void aCreateComesThroughTheEntryOfItsHadoopLineAndIsDecided() {
        denied(fs -> fs.create(new Path("/lake/sales/new")).close());
        String line = VersionInfo.getVersion().replaceAll("^(\\d+\\.\\d+).*", "$1");
        String expected = line.equals("3.3") || line.equals("3.4") ? "legacy" : "context";
        assertEquals(expected, ENTRY_BY_CALL.get("create"), "Hadoop " + VersionInfo.getVersion() + ": " + ENTRY_BY_CALL);
    }
}
