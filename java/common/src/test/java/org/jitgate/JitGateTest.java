package org.jitgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JNI binding against the real core, offline (no service): what a plugin sees before its first feed. */
class JitGateTest {
    @TempDir
    Path cache;

    /** The key the last snapshot written was signed with. */
    private String key;

    private Map<String, String> offline(String fallbackZones) {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("jitgate.cache.dir", cache.toString());
        if (key != null) {
            conf.put(JitGate.PUBLIC_KEY, key);
        }
        conf.put("jitgate.plugin", "test");
        conf.put("jitgate.fallback.zones", fallbackZones);
        return conf;
    }

    @Test
    void configBecomesSortedJitgateLinesOnly() {
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("jitgate.service.url", " http://127.0.0.1:8470 ");
        conf.put("dfs.replication", "3");
        conf.put("jitgate.cache.dir", "/var/cache/jitgate");
        assertEquals("jitgate.cache.dir=/var/cache/jitgate\njitgate.service.url=http://127.0.0.1:8470\n",
                JitGate.serialize(conf));
    }

    @Test
    void configWithLineBreakIsRefusedBeforeReachingTheCore() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JitGate.serialize(Map.of("jitgate.plugin", "hdfs\njitgate.service.url=http://evil")));
        assertTrue(e.getMessage().contains("jitgate.plugin"), e.getMessage());
    }

    @Test
    void unknownKeyFailsOpenWithTheCoresReason() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> JitGate.open(Map.of("jitgate.servce.url", "http://127.0.0.1:1")));
        assertTrue(e.getMessage().contains("jitgate.servce.url"), e.getMessage());
    }

    /** A full snapshot as the feed sends it: the zone sales, no grants. */
    static final String SALES = "{\"cursor\":1,\"server_time\":\"2026-12-05T00:00:00Z\",\"reset\":true,"
            + "\"zones\":[{\"name\":\"sales\",\"resources\":[\"hdfs:/lake/sales\"]}],\"grants\":[],\"revoked\":[]}";

    @Test
    void everyHdfsPathIsDeniedUntilAVerifiedSnapshotThenOnlyZones() throws Exception {
        try (JitGate gate = JitGate.open(offline("hdfs:/lake/sales"))) {
            for (String path : new String[] {"hdfs:/lake/sales/orders", "/open/data.txt", "hdfs:/", "hive:web.logs"}) {
                int code = gate.decide("alice", path, Action.READ, "open", null);
                assertEquals(Decision.DENY_NO_SNAPSHOT, code, path);
            }
            String why = gate.explain("alice", "hdfs:/open/data.txt", Action.READ, Decision.DENY_NO_SNAPSHOT);
            assertTrue(why.contains("alice") && why.contains("hdfs:/open/data.txt") && why.contains("no grant data yet"),
                    why);
        }
        Files.writeString(cache.resolve("snapshot.json"), SALES);
        try (JitGate gate = JitGate.open(offline(""))) {
            assertEquals(Decision.DENY_NO_SNAPSHOT, gate.decide("alice", "/open/data.txt", Action.READ, "open", null),
                    "a cache file without its digest is not verified");
        }
        assertThrows(IllegalArgumentException.class, () -> JitGate.writeSnapshot(cache, "{\"reset\":false}"));
        key = JitGate.writeSnapshot(cache, SALES);
        try (JitGate gate = JitGate.open(offline(""))) {
            int inside = gate.decide("alice", "hdfs:/lake/sales/orders", Action.READ, "open", null);
            assertEquals(Decision.DENY_NO_GRANT, inside);
            assertEquals(Decision.NOT_PROTECTED,
                    gate.decide("alice", "hdfs:/open/data.txt", Action.READ, "open", null));
            assertEquals(Decision.NOT_PROTECTED,
                    gate.decide("alice", "hdfs:/lake", Action.READ, "listStatus", null));
            assertTrue(Decision.denied(
                    gate.decide("alice", "hdfs:/lake", Action.WRITE | Action.SUBTREE, "delete", null)),
                    "deleting an ancestor of a zone must be denied");
        }
        Map<String, String> otherKey = offline("");
        otherKey.put(JitGate.PUBLIC_KEY, JitGate.writeSnapshot(cache.resolve("elsewhere"), SALES));
        try (JitGate gate = JitGate.open(otherKey)) {
            assertEquals(Decision.DENY_NO_SNAPSHOT, gate.decide("alice", "/open/data.txt", Action.READ, "open", null),
                    "a snapshot signed with another key than the pinned one is not verified");
        }
    }

    /** decide reads short strings through a stack buffer; what that buffer cannot take is read the slow way. */
    @Test
    void protectedDecisionRecordsUserOperationAndContextExactly() throws Exception {
        String longContext = "callerContext=" + "x".repeat(400);
        String[][] calls = {
            {"zo\u00eb", "open", "plain BMP text"},
            {"alice", "open\u0000x", "NUL, which modified UTF-8 writes as two bytes"},
            {"bob", "open", "crab \uD83E\uDD80 beyond the BMP"},
            {"carol", "open", longContext},
            {"\u20ac".repeat(169), "", "the most a stack buffer takes: 169 three-byte characters"},
            {"\u20ac".repeat(170), "open", "one more"},
        };
        try (JitGate gate = JitGate.open(offline("hdfs:/lake/sales"))) {
            for (String[] c : calls) {
                assertEquals(Decision.DENY_NO_SNAPSHOT, gate.decide(c[0], "/lake/sales/x", Action.READ, c[1], c[2]));
            }
        }
        // One JSON event per line, in decision order; only the NUL needs escaping here.
        String[] lines = Files.readString(cache.resolve("audit-spill.jsonl")).split("\n");
        assertEquals(calls.length, lines.length, String.join("\n", lines));
        for (int i = 0; i < calls.length; i++) {
            String[] fields = {"user", "operation", "context"};
            for (int j = 0; j < fields.length; j++) {
                String expected = "\"" + fields[j] + "\":\"" + calls[i][j].replace("\u0000", "\\u0000") + "\"";
                assertTrue(lines[i].contains(expected), expected + " in " + lines[i]);
            }
        }
    }

    @Test
    void closedOrForgedHandleDeniesInsteadOfCrashing() {
        JitGate gate = JitGate.open(offline("hdfs:/lake/sales"));
        gate.close();
        gate.close();
        assertEquals(Decision.DENY_CLOSED, gate.decide("alice", "hdfs:/open/x", Action.READ, null, null));
        assertEquals(Decision.DENY_CLOSED,
                JitGateNative.decide(0x7fff_0000_1234L, "alice", 5, "hdfs:/open/x".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                        12, Action.READ, null, 0, null, 0));
    }

    @Test
    void sharedEngineKeepsTheFirstConfigUntilClosed() {
        JitGate first = JitGate.shared(offline("hdfs:/lake/sales"));
        try {
            JitGate second = JitGate.shared(Map.of("jitgate.servce.url", "ignored: first config wins"));
            assertSame(first, second);
        } finally {
            first.close();
        }
        JitGate third = JitGate.shared(offline("hdfs:/lake/sales"));
        try {
            assertNotSame(first, third);
        } finally {
            third.close();
        }
    }

    @Test
    void hdfsPathsBecomeResourcesTheCoreCannotReadAsAHost() {
        assertEquals("hdfs:/lake/sales", JitGate.hdfsResource("/lake/sales"));
        assertEquals("hdfs:/lake/sales", JitGate.hdfsResource("//lake/sales"));
        assertEquals("hdfs:/lake//sales", JitGate.hdfsResource("///lake//sales"), "the core collapses the rest");
        assertEquals("hdfs:/", JitGate.hdfsResource("/"));
        assertEquals(null, JitGate.hdfsResource("lake/sales"));
    }

    @Test
    void aDoubledSlashReachesTheZone() throws Exception {
        key = JitGate.writeSnapshot(cache, SALES);
        try (JitGate gate = JitGate.open(offline(""))) {
            assertEquals(Decision.DENY_NO_GRANT,
                    gate.decide("alice", JitGate.hdfsResource("//lake/sales/x"), Action.READ, null, null));
            assertEquals(Decision.NOT_PROTECTED, gate.decide("alice", "hdfs://lake/sales/x", Action.READ, null, null),
                    "what the plugins made before: a NameNode named lake, path /sales/x");
        }
    }

    /**
     * One answer through either bridge: the C ABI's test (tests/c_abi.rs) asks the same. A missing
     * user or resource is bad input wherever it lies, recorded; a bare absolute path is an HDFS path.
     */
    @Test
    void missingStringsAreBadInputAndBarePathsAreHdfsPaths() throws Exception {
        key = JitGate.writeSnapshot(cache, SALES);
        try (JitGate gate = JitGate.open(offline(""))) {
            assertEquals(Decision.DENY_BAD_INPUT, gate.decide(null, "hdfs:/open/x", Action.READ, "open", null),
                    "no user, outside every zone");
            assertEquals(Decision.DENY_BAD_INPUT, gate.decide(null, "hdfs:/lake/sales/x", Action.READ, "open", null),
                    "no user, in a zone");
            assertEquals(Decision.DENY_BAD_INPUT, gate.decide("alice", null, Action.READ, "open", null));
            assertEquals(Decision.DENY_BAD_INPUT, gate.decide("alice", "lake/sales/x", Action.READ, "open", null),
                    "a relative path");
            assertEquals(Decision.NOT_PROTECTED, gate.decide("alice", "/open/x", Action.READ, "open", null));
            assertEquals(Decision.DENY_NO_GRANT, gate.decide("alice", "/lake/sales/x", Action.READ, "open", null));
            assertEquals(Decision.DENY_NO_GRANT, gate.decide("alice", "//lake/sales/x", Action.READ, "open", null),
                    "a doubled slash is not a NameNode's name");
            assertEquals(Decision.DENY_BAD_INPUT,
                    gate.decideMove("alice", "/lake/sales/x", null, Action.TRANSFORM, "rename", null));
            String why = gate.explain("alice", "/lake/sales/x", Action.READ, Decision.DENY_NO_GRANT);
            assertTrue(why.contains("alice may not read hdfs:/lake/sales/x (no active grant)"), why);
            String unnamed = gate.explain(null, null, Action.READ, Decision.DENY_BAD_INPUT);
            assertTrue(unnamed.contains("? may not read ? (the request could not be read)"), unnamed);
        }
        long recorded = Files.readAllLines(cache.resolve("audit-spill.jsonl")).stream()
                .filter(l -> l.contains("\"reason\":\"bad-input\"")).count();
        assertEquals(5, recorded, "each bad input is recorded, in a zone or not");
        JitGate closed = JitGate.open(offline(""));
        closed.close();
        assertEquals(Decision.DENY_CLOSED, closed.decide(null, "hdfs:/open/x", Action.READ, "open", null));
    }

    /** check answers with a Verdict the core builds: the code, a denial's message, the grants relied on. */
    @Test
    void checkAnswersWithTheCoresVerdict() throws Exception {
        key = JitGate.writeSnapshot(cache, SALES);
        try (JitGate gate = JitGate.open(offline(""))) {
            Verdict outside = gate.check("alice", List.of(Access.input("hdfs:/open/x", Action.READ),
                    Access.output("file:/tmp/out", Action.WRITE)), "QUERY", "q-1");
            assertEquals(new Verdict(Decision.NOT_PROTECTED, null, List.of()), outside);
            Verdict denied = gate.check("alice", List.of(Access.input("hdfs:/lake/sales/x", Action.READ)),
                    "QUERY", "q-2");
            assertEquals(Decision.DENY_NO_GRANT, denied.code());
            assertTrue(denied.message().contains("alice may not read hdfs:/lake/sales/x (no active grant)"),
                    denied.message());
            assertEquals(List.of(), denied.grants());
            Verdict noUser = gate.check(null, List.of(), "QUERY", "q-3");
            assertEquals(Decision.DENY_BAD_INPUT, noUser.code());
        }
        JitGate closed = JitGate.open(offline(""));
        closed.close();
        assertEquals(Decision.DENY_CLOSED, closed.check("alice", List.of(), "QUERY", "q-4").code());
    }

    @Test
    void deniedCoversEveryCodeButNotProtectedAndAllow() {
        assertTrue(!Decision.denied(Decision.NOT_PROTECTED) && !Decision.denied(Decision.ALLOW));
        for (int code : new int[] {2, 3, 4, 5, 6, 7, 99, -1}) {
            assertTrue(Decision.denied(code), "code " + code);
        }
    }
}
