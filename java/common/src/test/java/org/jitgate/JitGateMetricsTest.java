package org.jitgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Map;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared engine's numbers read as JMX does, through the platform MBeanServer. */
class JitGateMetricsTest {
    @TempDir
    Path cache;

    /** The sales zone and alice's read grant on it, valid until 2099. */
    static final String SALES_WITH_GRANT = "{\"cursor\":1,\"server_time\":\"2026-12-05T00:00:00Z\",\"reset\":true,"
            + "\"zones\":[{\"name\":\"sales\",\"resources\":[\"hdfs:/lake/sales\"]}],"
            + "\"grants\":[{\"id\":\"g-0000000001\",\"request_id\":\"r-0000000001\",\"user\":\"alice\","
            + "\"resources\":[\"hdfs:/lake/sales\"],\"actions\":[\"read\"],\"not_before\":\"2026-12-05T00:00:00Z\","
            + "\"expires_at\":\"2099-01-01T00:00:00Z\",\"approvers\":[\"bob\"],\"single_use\":false}],\"revoked\":[]}";

    @Test
    void theSharedEnginesDecisionsAreCountedInItsMBeanUntilItCloses() throws Exception {
        String key = JitGate.writeSnapshot(cache, SALES_WITH_GRANT);
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(JitGateMetrics.NAME);
        JitGate engine = JitGate.shared(Map.of("jitgate.cache.dir", cache.toString(), JitGate.PUBLIC_KEY, key,
                "jitgate.plugin", "hive", "jitgate.audit.flush.millis", "20"));
        try {
            assertEquals("hive", server.getAttribute(name, "Plugin"));
            assertEquals(0L, server.getAttribute(name, "DecisionsAllowed"));
            String part = "hdfs:/lake/sales/orders";
            assertEquals(Decision.ALLOW, engine.decide("alice", part, Action.READ, "open", null));
            assertEquals(Decision.ALLOW, engine.decide("alice", part, Action.READ, "open", null));
            assertEquals(Decision.DENY_NO_GRANT, engine.decide("carol", part, Action.READ, "open", null));
            assertEquals(Decision.NOT_PROTECTED, engine.decide("carol", "hdfs:/open/x", Action.READ, "open", null));
            assertEquals(2L, server.getAttribute(name, "DecisionsAllowed"));
            assertEquals(1L, server.getAttribute(name, "DecisionsDenied"));
            // No service: the engine never followed the feed, and its records go to the spill.
            long deadline = System.nanoTime() + 20_000_000_000L;
            while ((long) server.getAttribute(name, "AuditSpillBytes") == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue((long) server.getAttribute(name, "AuditSpillBytes") > 0, "the spill holds the 3 records");
            assertEquals(0L, server.getAttribute(name, "AuditQueueDepth"));
            assertTrue((long) server.getAttribute(name, "FeedLagMillis") > 0, "never in step with a service");
            assertTrue((long) server.getAttribute(name, "SnapshotAgeMillis") >= 0);
            assertEquals(engine.metrics().decisionsAllowed(), 2L);
        } finally {
            engine.close();
        }
        assertFalse(server.isRegistered(name), "a closed engine's MBean goes with it");
        assertEquals(0L, engine.metrics().decisionsAllowed(), "a closed engine counts nothing");
    }
}
