package org.jitgate.ranger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.ranger.plugin.model.RangerPolicy.RangerPolicyItemCondition;
import org.apache.ranger.plugin.model.RangerServiceDef;
import org.apache.ranger.plugin.model.RangerServiceDef.RangerPolicyConditionDef;
import org.apache.ranger.plugin.policyengine.RangerAccessRequestImpl;
import org.apache.ranger.plugin.policyengine.RangerAccessResourceImpl;
import org.apache.ranger.plugin.policyengine.RangerAccessResult;
import org.apache.ranger.plugin.service.RangerBasePlugin;
import org.jitgate.JitGate;
import org.jitgate.JitGateMetrics;
import org.jitgate.testkit.JitGateService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ranger's own policy engine (RangerBasePlugin, as a NameNode's and a HiveServer2's Ranger plugins
 * run it) with Ranger's standard HDFS and Hive service definitions plus the shipped jitgate-grant
 * condition and example policies, following a real {@code jitgate serve} (zone sales =
 * hdfs:/lake/sales, hive:sales.*). Both plugins live in this JVM and share its one jitgate engine.
 *
 * <p>Tests run in order (one service, one engine); each grant-holding test uses its own user.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JitGateConditionTest {
    private static final String HDFS_SERVICE = "jitgate_hdfs";
    private static final String HIVE_SERVICE = "jitgate_hive";
    /** Ids Ranger Admin would have assigned to the shipped example policies; their conditions carry them. */
    private static final long HDFS_POLICY = 42;
    private static final long HIVE_POLICY = 43;
    private static final long OPEN_POLICY = 44;
    private static final long REPL_POLICY = 45;
    private static final Duration FEED_BOUND = Duration.ofSeconds(10);

    private static JitGateService service;
    private static RangerBasePlugin hdfs;
    private static RangerBasePlugin hive;
    private static String aliceGrant;
    private static String erinGrant;

    @RegisterExtension
    static final TestWatcher SERVICE_LOG_ON_FAILURE = JitGateService.logOnFailure(() -> service);

    @BeforeAll
    static void startServiceAndPlugins(@TempDir Path dir) throws Exception {
        service = JitGateService.start(dir);
        // Cluster-wide keys as an admin sets them in the condition's evaluatorOptions; the host's
        // name comes from ranger-<type>-security.xml on the test classpath.
        Map<String, String> options = Map.of(
                "jitgate.service.url", service.url(),
                "jitgate.service.token.file", service.tokensFile().toString(),
                "jitgate.service.public.key.file", service.publicKeyFile().toString(),
                "jitgate.cache.dir", dir.resolve("plugin-cache").toString());

        hdfs = RangerServices.plugin("hdfs", HDFS_SERVICE, RangerServices.defWithCondition("hdfs", options), List.of(
                RangerServices.examplePolicy("hdfs", HDFS_SERVICE, HDFS_POLICY),
                RangerServices.policy("{\"id\": 44, \"service\": \"jitgate_hdfs\", \"name\": \"open data\","
                        + " \"isEnabled\": true, \"resources\": {\"path\": {\"values\": [\"/open\"], \"isRecursive\": true}},"
                        + " \"policyItems\": [{\"accesses\": [{\"type\": \"read\", \"isAllowed\": true}],"
                        + " \"groups\": [\"analysts\"], \"conditions\": [{\"type\": \"jitgate-grant\", \"values\": [\"44\"]}]}]}")));
        hive = RangerServices.plugin("hive", HIVE_SERVICE, RangerServices.defWithCondition("hive", options), List.of(
                RangerServices.examplePolicy("hive", HIVE_SERVICE, HIVE_POLICY),
                RangerServices.policy("{\"id\": 45, \"service\": \"jitgate_hive\", \"name\": \"sales replication\","
                        + " \"isEnabled\": true, \"resources\": {\"database\": {\"values\": [\"sales\"]}},"
                        + " \"policyItems\": [{\"accesses\": [{\"type\": \"repladmin\", \"isAllowed\": true}],"
                        + " \"groups\": [\"analysts\"], \"conditions\": [{\"type\": \"jitgate-grant\", \"values\": [\"45\"]}]}]}")));
    }

    @AfterAll
    static void stop() throws Exception {
        if (hive != null) {
            hive.cleanup();
        }
        if (hdfs != null) {
            hdfs.cleanup();
            // The engine the plugins' conditions opened; the next test class opens its own.
            JitGate.shared(Map.of()).close();
        }
        if (service != null) {
            service.close();
        }
    }

    private static RangerAccessResult hdfs(String user, String path, String accessType, String operation) {
        Map<String, Object> resource = new HashMap<>();
        resource.put("path", path);
        return hdfs.isAccessAllowed(request(resource, accessType, user, operation));
    }

    private static RangerAccessResult hive(String user, String database, String table, String accessType) {
        Map<String, Object> resource = new HashMap<>();
        resource.put("database", database);
        if (table != null) {
            resource.put("table", table);
            resource.put("column", "id");
        }
        return hive.isAccessAllowed(request(resource, accessType, user, "QUERY"));
    }

    private static RangerAccessRequestImpl request(Map<String, Object> resource, String accessType, String user,
                                                   String operation) {
        RangerAccessRequestImpl request = new RangerAccessRequestImpl(new RangerAccessResourceImpl(resource),
                accessType, user, Set.of("analysts"), Set.of());
        request.setAction(operation);
        request.setAccessTime(new Date());
        return request;
    }

    /** Polls {@code condition} until true, or fails after {@code bound}; returns the time it took. */
    private static Duration eventually(Duration bound, String what, BooleanSupplier condition) throws Exception {
        long start = System.nanoTime();
        long deadline = start + bound.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " did not happen within " + bound);
            }
            Thread.sleep(20);
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }

    @Test
    @Order(1)
    void zoneAccessDeniedWithoutGrant() {
        RangerAccessResult read = hdfs("alice", "/lake/sales/orders/part-0", "read", "open");
        assertFalse(read.getIsAllowed(), read.toString());
        assertTrue(read.getIsAccessDetermined(), "the example policy denies all else, so HDFS permissions cannot let it through");
        assertEquals(HDFS_POLICY, read.getPolicyId(), read.toString());

        RangerAccessResult traverse = hdfs("alice", "/lake/sales/orders", "execute", "getfileinfo");
        assertTrue(traverse.getIsAllowed(), "the example policy's unconditional item allows traversal: " + traverse);

        RangerAccessResult select = hive("alice", "sales", "orders", "select");
        assertFalse(select.getIsAllowed(), select.toString());
    }

    @Test
    @Order(2)
    void conditionIsFalseOutsideEveryZone() {
        RangerAccessResult read = hdfs("alice", "/open/data.txt", "read", "open");
        assertFalse(read.getIsAllowed(), "no grant can exist outside the zones, so the conditioned item never matches: " + read);
        assertFalse(read.getIsAccessDetermined(), "Ranger leaves it to HDFS permissions: " + read);
    }

    @Test
    @Order(3)
    void grantAllowsItsAccessUntilRevoked() throws Exception {
        aliceGrant = service.grant("alice", List.of("hdfs:/lake/sales"), List.of("read"), "5m", false);
        Duration seen = eventually(FEED_BOUND, "alice's read after the approval",
                () -> hdfs("alice", "/lake/sales/orders/part-0", "read", "open").getIsAllowed());
        System.out.printf("jitgate: approve -> first allowed Ranger read took %d ms%n", seen.toMillis());

        RangerAccessResult read = hdfs("alice", "/lake/sales/orders/part-0", "read", "open");
        assertEquals(HDFS_POLICY, read.getPolicyId(), "Ranger's result names the conditioned policy: " + read);
        assertFalse(hdfs("alice", "/lake/sales/orders/part-1", "write", "create").getIsAllowed(),
                "the grant covers read only");
        assertFalse(hdfs("carol", "/lake/sales/orders/part-0", "read", "open").getIsAllowed(),
                "the grant is alice's only");

        service.revoke(aliceGrant, "carol", "sales-owners");
        Duration revoked = eventually(FEED_BOUND, "alice's denial after the revoke",
                () -> !hdfs("alice", "/lake/sales/orders/part-0", "read", "open").getIsAllowed());
        System.out.printf("jitgate: revoke -> first denied Ranger read took %d ms%n", revoked.toMillis());
    }

    @Test
    @Order(4)
    void shortGrantExpires() throws Exception {
        String id = service.request("dave", "hdfs:/lake/sales", "write", "3s", "a quick fix");
        JsonNode grant = service.approve(id, "carol", "sales-owners").path("grant");
        Instant expiresAt = Instant.parse(grant.path("expires_at").asText());

        eventually(FEED_BOUND, "dave's write after the approval",
                () -> hdfs("dave", "/lake/sales/orders/part-9", "write", "create").getIsAllowed());
        Duration expired = eventually(Duration.between(Instant.now(), expiresAt).plus(FEED_BOUND),
                "dave's denial after the grant's expiry",
                () -> !hdfs("dave", "/lake/sales/orders/part-9", "write", "create").getIsAllowed());
        assertFalse(Instant.now().isBefore(expiresAt), "denied only once the grant has expired");
        System.out.printf("jitgate: grant of 3s -> denied %d ms after the first allowed write%n", expired.toMillis());
    }

    @Test
    @Order(5)
    void hiveGrantCoversItsTableAndActionOnly() throws Exception {
        erinGrant = service.grant("erin", List.of("hive:sales.orders"), List.of("read"), "5m", false);
        eventually(FEED_BOUND, "erin's select after the approval",
                () -> hive("erin", "sales", "orders", "select").getIsAllowed());
        assertEquals(HIVE_POLICY, hive("erin", "sales", "orders", "select").getPolicyId());
        assertTrue(hive("erin", "Sales", "Orders", "select").getIsAllowed(), "Hive names are case-insensitive");

        assertFalse(hive("erin", "sales", "customers", "select").getIsAllowed(), "another table");
        assertFalse(hive("erin", "sales", "orders", "update").getIsAllowed(), "update needs write");
        assertFalse(hive("erin", "sales", "orders", "drop").getIsAllowed(), "drop needs transform");
    }

    @Test
    @Order(6)
    void accessTypesJitgateNeverGrantsStayDenied() throws Exception {
        service.grant("frank", List.of("hive:sales"), List.of("read", "write", "transform", "export"), "5m", false);
        eventually(FEED_BOUND, "frank's select after the approval",
                () -> hive("frank", "sales", "orders", "select").getIsAllowed());
        assertTrue(hive("frank", "sales", "orders", "alter").getIsAllowed(), "alter is transform");

        RangerAccessResult repl = hive("frank", "sales", null, "repladmin");
        assertFalse(repl.getIsAllowed(), "REPL DUMP is never granted just in time: " + repl);
    }

    @Test
    @Order(7)
    void conditionFailsClosed() {
        Map<String, Object> orders = new HashMap<>(Map.of("database", "sales", "table", "orders"));
        RangerAccessRequestImpl select = request(orders, "select", "frank", "QUERY");

        JitGateConditionEvaluator working = evaluator(RangerServices.standardDef("hive"));
        assertTrue(working.isMatched(select), "frank holds a grant on hive:sales");

        JitGateConditionEvaluator unstarted = new JitGateConditionEvaluator();
        assertFalse(unstarted.isMatched(select), "no engine: not matched");
        JitGateConditionEvaluator broken = evaluator(null);
        assertFalse(broken.isMatched(select), "init failed without a service definition: not matched");
        assertFalse(working.isMatched(new RangerAccessRequestImpl(null, "select", "frank", Set.of(), Set.of())),
                "a request without resource: not matched");
        assertFalse(working.isMatched(null), "a failure inside the check: not matched");
    }

    private static JitGateConditionEvaluator evaluator(RangerServiceDef def) {
        JitGateConditionEvaluator evaluator = new JitGateConditionEvaluator();
        evaluator.setServiceDef(def);
        evaluator.setConditionDef(new RangerPolicyConditionDef(100L, "jitgate-grant",
                JitGateConditionEvaluator.class.getName(), Map.of()));
        evaluator.setPolicyItemCondition(new RangerPolicyItemCondition("jitgate-grant", List.of("43")));
        evaluator.init();
        return evaluator;
    }

    @Test
    @Order(8)
    void auditTrailNamesTheRangerPolicy() throws Exception {
        JsonNode alice = allowEvent("alice", aliceGrant);
        String context = alice.path("context").asText();
        assertTrue(context.contains("ranger.policy.id=" + HDFS_POLICY) && context.contains("ranger.service=" + HDFS_SERVICE)
                && context.contains("ranger.access=read"), alice.toString());
        assertEquals("hdfs:/lake/sales/orders/part-0", alice.path("resource").asText(), alice.toString());
        assertEquals("open", alice.path("operation").asText(), alice.toString());
        assertEquals("nn1.test", alice.path("host").asText(), "the host comes from ranger-hdfs-security.xml");

        JsonNode denied = event("alice", e -> "deny".equals(e.path("decision").asText()));
        assertTrue(denied.path("context").asText().contains("ranger.policy.id=" + HDFS_POLICY), denied.toString());

        JsonNode erin = allowEvent("erin", erinGrant);
        String hiveContext = erin.path("context").asText();
        assertTrue(hiveContext.contains("ranger.policy.id=" + HIVE_POLICY)
                && hiveContext.contains("ranger.service=" + HIVE_SERVICE), erin.toString());
        assertEquals("hive:sales.orders", erin.path("resource").asText(), erin.toString());
        assertEquals(alice.path("plugin").asText(), erin.path("plugin").asText(),
                "the HDFS and Hive plugins of one JVM share one engine, opened by the first");
    }

    /** The first allow event of {@code user} relying on {@code grant}. */
    private static JsonNode allowEvent(String user, String grant) throws Exception {
        return event(user, e -> "allow".equals(e.path("decision").asText()) && grant.equals(e.path("grant_id").asText()));
    }

    /** The first audit event of {@code user} that {@code wanted} accepts, waiting for the plugin's upload. */
    private static JsonNode event(String user, Predicate<JsonNode> wanted) throws Exception {
        JsonNode[] found = new JsonNode[1];
        eventually(Duration.ofSeconds(20), "an audit event of " + user, () -> {
            try {
                for (JsonNode e : service.audit(user, "carol", "sales-owners")) {
                    if (wanted.test(e)) {
                        found[0] = e;
                        return true;
                    }
                }
                return false;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return found[0];
    }

    /** The condition's engine counts its decisions in the JMX MBean every plugin's JVM has. */
    @Test
    @Order(9)
    void theMetricsMBeanCountsTheConditionsDecisions() throws Exception {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = new ObjectName(JitGateMetrics.NAME);
        long allowed = (long) server.getAttribute(name, "DecisionsAllowed");
        long denied = (long) server.getAttribute(name, "DecisionsDenied");
        assertTrue(hive("erin", "sales", "orders", "select").getIsAllowed(), "erin's grant of test 5");
        assertFalse(hdfs("zed", "/lake/sales/orders/part-0", "read", "open").getIsAllowed());
        assertTrue((long) server.getAttribute(name, "DecisionsAllowed") > allowed);
        assertTrue((long) server.getAttribute(name, "DecisionsDenied") > denied);
        assertEquals(0L, server.getAttribute(name, "FeedLagMillis"), "the engine follows the feed");
    }
}
