package org.jitgate.hdfs;

import static org.apache.hadoop.fs.permission.FsAction.ALL;
import static org.apache.hadoop.fs.permission.FsAction.EXECUTE;
import static org.apache.hadoop.fs.permission.FsAction.READ;
import static org.apache.hadoop.fs.permission.FsAction.READ_EXECUTE;
import static org.apache.hadoop.fs.permission.FsAction.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.jitgate.Action.SUBTREE;
import static org.jitgate.Action.TRANSFORM;

import java.util.Map;
import org.jitgate.Action;
import org.jitgate.JitGate;
import org.junit.jupiter.api.Test;

/** The checks the NameNode makes for common operations, and what each asks of jitgate. */
class HdfsActionsTest {
    @Test
    void theCoresTableIsReadWholeAndATableThatCannotBeReadStopsTheStart() {
        String[] names = JitGate.mappingNames("hdfs");
        assertEquals(names.length, HdfsActions.rows());
        Map<String, HdfsActions.Row> rows = HdfsActions.read(names, JitGate::mapping, JitGate::fields);
        assertEquals(new HdfsActions.Row(Action.READ, 0), rows.get("getBlockLocations"));
        assertEquals(new HdfsActions.Row(0, TRANSFORM | SUBTREE), rows.get("rename"));
        // A lookup the core cannot answer is not "no row": the plugin refuses to start.
        assertThrows(IllegalStateException.class, () -> HdfsActions.read(null, JitGate::mapping, JitGate::fields));
        assertThrows(IllegalStateException.class, () -> HdfsActions.read(new String[0], JitGate::mapping, JitGate::fields));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> HdfsActions.read(names, (engine, call) -> call.equals("rename") ? null : JitGate.mapping(engine, call),
                        JitGate::fields));
        assertTrue(e.getMessage().contains("rename"), e.getMessage());
        assertThrows(IllegalStateException.class,
                () -> HdfsActions.read(names, JitGate::mapping, (engine, call) -> null));
    }

    @Test
    void traverseStatAndOwnerChecksAskNothing() {
        assertEquals(0, HdfsActions.of(null, null, null, null, null));
        assertEquals(0, HdfsActions.of(null, null, null, null, "rename"));
        assertEquals(0, HdfsActions.of(null, null, EXECUTE, null, "getfileinfo"));
    }

    @Test
    void openAndListingAreReads() {
        assertEquals(Action.READ, HdfsActions.of(null, null, READ, null, "open"));
        assertEquals(Action.READ, HdfsActions.of(null, null, READ_EXECUTE, null, "listStatus"));
        assertEquals(Action.READ, HdfsActions.of(null, null, READ, null, null));
    }

    @Test
    void createMkdirsAndAppendAreWrites() {
        assertEquals(Action.WRITE, HdfsActions.of(WRITE, null, null, null, "create"));
        assertEquals(Action.WRITE, HdfsActions.of(WRITE, null, null, null, "mkdirs"));
        assertEquals(Action.WRITE, HdfsActions.of(null, null, WRITE, null, "append"));
    }

    @Test
    void deleteIsAWriteOfTheWholeSubtree() {
        assertEquals(Action.WRITE | SUBTREE, HdfsActions.of(null, WRITE, null, ALL, "delete"));
        assertEquals(Action.WRITE | SUBTREE, HdfsActions.of(null, WRITE, null, ALL, null));
    }

    @Test
    void renameIsATransformOfTheWholeSubtreeOnBothEnds() {
        assertEquals(TRANSFORM | SUBTREE, HdfsActions.of(null, WRITE, null, null, "rename"));
        assertEquals(TRANSFORM | SUBTREE, HdfsActions.of(WRITE, null, null, null, "rename"));
        assertEquals(TRANSFORM | SUBTREE, HdfsActions.of(WRITE, null, null, null, "rename2"));
        assertEquals(Action.WRITE | SUBTREE, HdfsActions.of(null, WRITE, null, null, null));
    }

    @Test
    void callsThatHandOutBlocksUnderATraverseCheckAreReads() {
        assertEquals(Action.READ, HdfsActions.of(null, null, null, null, "open", "getLocatedFileInfo"));
        assertEquals(Action.READ, HdfsActions.of(null, null, null, null, "getfileinfo", "getLocatedFileInfo"));
        assertEquals(Action.READ, HdfsActions.of(null, null, null, null, "listStatus", "getListing"));
        assertEquals(Action.READ, HdfsActions.of(null, null, null, null, "rename", "getBatchedListing"),
                "getBatchedListing leaves the previous call's operation name");
        assertEquals(0, HdfsActions.of(null, null, null, null, "getfileinfo", "getFileInfo"), "a stat");
        assertEquals(0, HdfsActions.of(null, null, null, null, "open", "getFileInfo"), "the RPC name decides");
        // Without the RPC's name (or for WebHDFS's external calls), the operation name stands in.
        assertEquals(Action.READ, HdfsActions.of(null, null, null, null, "open", null));
        assertEquals(Action.READ, HdfsActions.of(null, null, null, null, "listStatus", RpcCall.rpcName("(external)")));
        assertEquals(0, HdfsActions.of(null, null, null, null, "getfileinfo", null));
    }

    @Test
    void aStaleOperationNameChangesNothingWhenTheRpcIsKnown() {
        // Hadoop 3.4's create and getBatchedListing leave the previous call's operation name.
        assertEquals(Action.WRITE, HdfsActions.of(WRITE, null, null, null, "rename", "create"));
        assertEquals(Action.READ, HdfsActions.of(null, null, READ_EXECUTE, null, "mkdirs", "getBatchedListing"));
        assertEquals(TRANSFORM | SUBTREE, HdfsActions.of(WRITE, null, null, null, "getfileinfo", "rename2"));
        assertEquals(Action.WRITE | SUBTREE, HdfsActions.of(null, WRITE, null, ALL, "open", "delete"));
    }

    @Test
    void callsThatAreNoClientRpcAreNamedByTheirOperation() {
        assertEquals(null, RpcCall.rpcName("(external)"), "WebHDFS");
        assertEquals(null, RpcCall.rpcName(""));
        assertEquals(null, RpcCall.rpcName(null));
        assertEquals("rename2", RpcCall.rpcName("rename2"));
    }

    @Test
    void contentSummaryReadsTheWholeSubtree() {
        assertEquals(Action.READ | SUBTREE, HdfsActions.of(null, null, null, READ_EXECUTE, "contentSummary"));
    }
}
