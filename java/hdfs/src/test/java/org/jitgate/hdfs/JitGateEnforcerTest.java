package org.jitgate.hdfs;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.hdfs.server.namenode.INode;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AccessControlEnforcer;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AuthorizationContext;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
import org.jitgate.JitGate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The enforcer against the real core, offline from a cached snapshot (so no service is needed), and a
 * stand-in for the NameNode's own enforcer that records which API variant reached it.
 */
class JitGateEnforcerTest {
    private static final UserGroupInformation ALICE =
            UserGroupInformation.createUserForTesting("alice", new String[] {"analysts"});

    @TempDir
    Path cache;

    private JitGate gate;
    private final RecordingEnforcer hdfs = new RecordingEnforcer();

    @BeforeEach
    void open() throws Exception {
        String key = JitGate.writeSnapshot(cache, "{\"cursor\":1,\"server_time\":\"2026-12-05T00:00:00Z\",\"reset\":true,"
                + "\"zones\":[{\"name\":\"sales\",\"resources\":[\"hdfs:/lake/sales\"]}],\"grants\":[],\"revoked\":[]}");
        gate = JitGate.open(Map.of("jitgate.cache.dir", cache.toString(), "jitgate.plugin", "hdfs",
                JitGate.PUBLIC_KEY, key));
    }

    @AfterEach
    void close() {
        gate.close();
    }

    private static AuthorizationContext read(String path, String operation) {
        return new AuthorizationContext.Builder().callerUgi(ALICE).path(path).access(FsAction.READ)
                .operationName(operation).build();
    }

    @Test
    void pathOutsideZonesIsLeftToHdfsThroughTheSameVariant() throws Exception {
        JitGateEnforcer enforcer = new JitGateEnforcer(hdfs, gate);
        enforcer.checkPermissionWithContext(read("/open/data.txt", "open"));
        assertEquals("context", hdfs.called);
        legacyRead(enforcer, "/open/data.txt");
        assertEquals("legacy", hdfs.called);
    }

    @Test
    void hdfsDenialIsRaisedUnchangedBeforeJitgateIsAsked() {
        hdfs.denial = new AccessControlException("Permission denied: user=alice");
        JitGateEnforcer enforcer = new JitGateEnforcer(hdfs, gate);
        assertSame(hdfs.denial, assertThrows(AccessControlException.class,
                () -> enforcer.checkPermissionWithContext(read("/lake/sales/orders", "open"))));
    }

    @Test
    void zoneWithoutGrantIsDeniedWithTheCoresMessageInBothVariants() {
        JitGateEnforcer enforcer = new JitGateEnforcer(hdfs, gate);
        AccessControlException withContext = assertThrows(AccessControlException.class,
                () -> enforcer.checkPermissionWithContext(read("/lake/sales/orders", "open")));
        assertTrue(withContext.getMessage().contains("alice")
                && withContext.getMessage().contains("hdfs:/lake/sales/orders"), withContext.getMessage());
        AccessControlException legacy = assertThrows(AccessControlException.class,
                () -> legacyRead(enforcer, "/lake/sales/orders"));
        assertEquals(withContext.getMessage(), legacy.getMessage());
    }

    @Test
    void closedEngineFailsClosedEvenOutsideZones() {
        gate.close();
        JitGateEnforcer enforcer = new JitGateEnforcer(hdfs, gate);
        assertThrows(AccessControlException.class,
                () -> enforcer.checkPermissionWithContext(read("/open/data.txt", "open")));
    }

    @Test
    void unstartedProviderFailsClosedButLetsTraverseThrough() {
        JitGateEnforcer enforcer = new JitGateEnforcer(hdfs, null);
        AccessControlException e = assertThrows(AccessControlException.class,
                () -> enforcer.checkPermissionWithContext(read("/open/data.txt", "open")));
        assertTrue(e.getMessage().startsWith("jitgate: denied alice"), e.getMessage());
        assertDoesNotThrow(() -> enforcer.checkPermissionWithContext(
                new AuthorizationContext.Builder().callerUgi(ALICE).path("/lake/sales").build()));
    }

    @Test
    void aRenameDestinationWithoutItsSourceCheckFailsClosed() throws Exception {
        JitGateEnforcer enforcer = new JitGateEnforcer(hdfs, gate);
        AuthorizationContext destination = new AuthorizationContext.Builder().callerUgi(ALICE)
                .path("/open/elsewhere").ancestorAccess(FsAction.WRITE).operationName("rename").build();
        AccessControlException e = assertThrows(AccessControlException.class,
                () -> enforcer.checkPermissionWithContext(destination));
        assertTrue(e.getMessage().contains("the first check of this rename was not seen"), e.getMessage());

        AuthorizationContext source = new AuthorizationContext.Builder().callerUgi(ALICE)
                .path("/open/x").parentAccess(FsAction.WRITE).operationName("rename").build();
        enforcer.checkPermissionWithContext(source);
        assertDoesNotThrow(() -> enforcer.checkPermissionWithContext(destination), "outside zones, paired");

        AuthorizationContext zoneSource = new AuthorizationContext.Builder().callerUgi(ALICE)
                .path("/lake/sales/x").parentAccess(FsAction.WRITE).operationName("rename").build();
        assertThrows(AccessControlException.class, () -> enforcer.checkPermissionWithContext(zoneSource));
    }

    @Test
    void newSymlinksAreRefused() {
        JitGateEnforcer enforcer = new JitGateEnforcer(hdfs, gate);
        AccessControlException e = assertThrows(AccessControlException.class,
                () -> enforcer.checkPermissionWithContext(new AuthorizationContext.Builder().callerUgi(ALICE)
                        .path("/open/link").operationName("createSymlink").build()));
        assertTrue(e.getMessage().startsWith("jitgate: alice may not create the symlink hdfs:/open/link"),
                e.getMessage());
    }

    private static void legacyRead(AccessControlEnforcer enforcer, String path) throws AccessControlException {
        enforcer.checkPermission("hdfs", "supergroup", ALICE, new INodeAttributes[0], new INode[0],
                new byte[0][], 0, path, 0, false, null, null, FsAction.READ, null, false);
    }

    /** Stands in for the NameNode's FSPermissionChecker. */
    private static final class RecordingEnforcer implements AccessControlEnforcer {
        String called;
        AccessControlException denial;

        @Override
        public void checkPermission(String fsOwner, String supergroup, UserGroupInformation callerUgi,
                                    INodeAttributes[] inodeAttrs, INode[] inodes, byte[][] pathByNameArr,
                                    int snapshotId, String path, int ancestorIndex, boolean doCheckOwner,
                                    FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                                    FsAction subAccess, boolean ignoreEmptyDir)
                throws AccessControlException {
            called = "legacy";
            if (denial != null) {
                throw denial;
            }
        }

        @Override
        public void checkPermissionWithContext(AuthorizationContext ctx) throws AccessControlException {
            called = "context";
            if (denial != null) {
                throw denial;
            }
        }
    }
}
