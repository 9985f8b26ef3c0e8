package org.jitgate.hdfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.CreateFlag;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.PathHandle;
import org.apache.hadoop.fs.Trash;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.client.HdfsClientConfigKeys;
import org.apache.hadoop.hdfs.protocol.HdfsFileStatus;
import org.apache.hadoop.io.IOUtils;
import org.apache.hadoop.metrics2.AbstractMetric;
import org.apache.hadoop.metrics2.MetricsRecord;
import org.apache.hadoop.metrics2.MetricsSource;
import org.apache.hadoop.metrics2.impl.MetricsCollectorImpl;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;
import org.apache.hadoop.net.NetUtils;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
import org.jitgate.JitGate;
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
 * A real NameNode (MiniDFSCluster) with the jitgate provider, following a real {@code jitgate serve}
 * started by the test. Users act through HDFS as themselves and through the service's HTTP API.
 *
 * <p>HDFS permission bits in {@code /lake} are wide open (dirs 777, files 644), so wherever a zone
 * call is denied, jitgate is what denied it. Tests run in order because they share one cluster and
 * service; the last one stops the service. Each grant-holding test uses its own user.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JitGateHdfsTest {
    private static final Path PART0 = new Path("/lake/sales/orders/part-0");
    private static final Path BIG = new Path("/lake/sales/orders/part-big");
    private static final Path OPEN_DATA = new Path("/open/data.txt");
    private static final Path PRIVATE = new Path("/private/secret.txt");
    private static final byte[] PART0_BYTES = "id,item\n1,apples\n2,pears\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] OPEN_BYTES = "nothing secret here\n".getBytes(StandardCharsets.UTF_8);

    /** part-big: many tiny blocks, so a reader needs new block locations from the NameNode as it goes. */
    private static final int BLOCK = 1024;
    private static final int BIG_BLOCKS = 64;
    /** Block locations a client fetches per NameNode call: 4 blocks. */
    private static final int PREFETCH = 4 * BLOCK;

    private static final String APPROVER = "bob";
    private static final String APPROVERS = "sales-owners";

    private static JitGateService service;
    private static MiniDFSCluster cluster;
    private static FileSystem superuser;
    private static final Map<String, FileSystem> users = new HashMap<>();

    /** Set by approvedGrantAllowsRead, checked in the audit trail. */
    private static String aliceRequestId;
    private static String aliceGrantId;

    @RegisterExtension
    static final TestWatcher SERVICE_LOG_ON_FAILURE = JitGateService.logOnFailure(() -> service);

    @BeforeAll
    static void startServiceAndCluster(@TempDir java.nio.file.Path dir) throws Exception {
        service = JitGateService.start(dir, JitGateService.SALES_ZONE + JitGateService.PLUGIN_CONTEXT);

        Configuration conf = new HdfsConfiguration();
        conf.set(DFSConfigKeys.DFS_NAMENODE_INODE_ATTRIBUTES_PROVIDER_KEY, JitGateAttributeProvider.class.getName());
        conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, true);
        conf.setLong(DFSConfigKeys.DFS_NAMENODE_MIN_BLOCK_SIZE_KEY, 0);
        conf.set("jitgate.service.url", service.url());
        conf.set("jitgate.service.token.file", service.tokensFile().toString());
        conf.set("jitgate.service.public.key.file", service.publicKeyFile().toString());
        conf.set("jitgate.cache.dir", dir.resolve("plugin-cache").toString());
        conf.set("jitgate.hdfs.context.seconds", "1");
        try {
            cluster = new MiniDFSCluster.Builder(conf, dir.resolve("dfs").toFile()).numDataNodes(1).build();
            cluster.waitActive();
        } catch (Exception | Error e) {
            System.err.println("---- jitgate serve output ----\n" + service.log());
            throw e;
        }
        superuser = cluster.getFileSystem();
        createData();
    }

    /** As the superuser, whom the NameNode never sends to an enforcer (so jitgate does not gate it). */
    private static void createData() throws IOException {
        FsPermission open = new FsPermission((short) 0777);
        superuser.setPermission(new Path("/"), open);
        for (String dir : new String[] {"/lake", "/lake/sales", "/lake/sales/orders", "/scratch",
                "/scratch/tree", "/scratch/tree/sub"}) {
            Path p = new Path(dir);
            superuser.mkdirs(p);
            superuser.setPermission(p, open);
        }
        write(PART0, PART0_BYTES, superuser.getDefaultBlockSize(PART0));
        write(BIG, bigBytes(), BLOCK);
        write(new Path("/scratch/tree/sub/file"), OPEN_BYTES, superuser.getDefaultBlockSize(PART0));

        superuser.mkdirs(new Path("/open"), new FsPermission((short) 0755));
        write(OPEN_DATA, OPEN_BYTES, superuser.getDefaultBlockSize(OPEN_DATA));
        superuser.mkdirs(PRIVATE.getParent());
        superuser.setPermission(PRIVATE.getParent(), new FsPermission((short) 0700));
        write(PRIVATE, OPEN_BYTES, superuser.getDefaultBlockSize(PRIVATE));
    }

    private static void write(Path path, byte[] bytes, long blockSize) throws IOException {
        try (FSDataOutputStream out = superuser.create(path, true, 4096, (short) 1, blockSize)) {
            out.write(bytes);
        }
        superuser.setPermission(path, new FsPermission((short) 0644));
    }

    private static byte[] bigBytes() {
        byte[] b = new byte[BIG_BLOCKS * BLOCK];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    @AfterAll
    static void stop() throws Exception {
        for (FileSystem fs : users.values()) {
            fs.close();
        }
        if (cluster != null) {
            cluster.shutdown();
        }
        if (service != null) {
            service.close();
        }
        // The providers joined the JVM's engine, which outlives them; the next class opens its own.
        JitGate.closeShared();
    }

    /** {@code user}'s own HDFS client (group {@code analysts}). */
    private static FileSystem as(String user) throws Exception {
        FileSystem fs = users.get(user);
        if (fs == null) {
            Configuration conf = new Configuration(cluster.getConfiguration(0));
            conf.setLong(HdfsClientConfigKeys.Read.PREFETCH_SIZE_KEY, PREFETCH);
            UserGroupInformation ugi = UserGroupInformation.createUserForTesting(user, new String[] {"analysts"});
            fs = ugi.doAs((PrivilegedExceptionAction<FileSystem>) () -> FileSystem.newInstance(cluster.getURI(), conf));
            users.put(user, fs);
        }
        return fs;
    }

    private static byte[] read(String user, Path path) throws Exception {
        try (FSDataInputStream in = as(user).open(path)) {
            return IOUtils.readFullyToByteArray(in);
        }
    }

    private static String grantRead(String user, String duration) throws Exception {
        String id = service.request(user, "hdfs:/lake/sales", "read", duration, "INC-4411: check the order feed");
        return service.approve(id, APPROVER, APPROVERS).path("grant").path("id").asText();
    }

    /** Retries {@code action} until it stops throwing, or fails with its last error after {@code bound}. */
    private static <T> T eventually(Duration bound, String what, PrivilegedExceptionAction<T> action) throws Exception {
        long deadline = System.nanoTime() + bound.toNanos();
        while (true) {
            try {
                return action.run();
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(what + " did not happen within " + bound, e);
                }
                Thread.sleep(20);
            }
        }
    }

    private static AccessControlException eventuallyDenied(Duration bound, String what,
                                                           PrivilegedExceptionAction<?> action) throws Exception {
        return eventually(bound, what, () -> {
            try {
                action.run();
            } catch (AccessControlException denied) {
                return denied;
            }
            throw new IllegalStateException("still allowed");
        });
    }

    /** The message's first line is the core's; the NameNode's stack trace follows it. */
    private static void assertJitgateDenial(Exception e, String user, String resource, String action) {
        assertTrue(e instanceof AccessControlException, "expected an AccessControlException, got " + e);
        String first = e.getMessage().lines().findFirst().orElse("");
        assertTrue(first.startsWith("jitgate: ") && first.contains(user) && first.contains(resource + " ")
                        && first.contains(action),
                "expected a jitgate denial of " + user + " " + action + " " + resource + ", got: " + e.getMessage());
    }

    @Test
    @Order(1)
    void protectedReadDeniedWithoutGrant() {
        AccessControlException e = assertThrows(AccessControlException.class, () -> read("alice", PART0));
        assertJitgateDenial(e, "alice", "hdfs:/lake/sales/orders/part-0", "read");
        assertTrue(e.getMessage().contains("/request?resource="), e.getMessage());

        AccessControlException listing = assertThrows(AccessControlException.class,
                () -> as("alice").listStatus(PART0.getParent()));
        assertJitgateDenial(listing, "alice", "hdfs:/lake/sales/orders", "read");
    }

    @Test
    @Order(2)
    void statAndListingAboveTheZoneAreNotGated() throws Exception {
        assertEquals(PART0_BYTES.length, as("alice").getFileStatus(PART0).getLen());
        assertEquals(1, as("alice").listStatus(new Path("/lake")).length);
    }

    @Test
    @Order(3)
    void zoneDataInASnapshotStaysProtected() throws Exception {
        Path lake = new Path("/lake");
        ((DistributedFileSystem) superuser).allowSnapshot(lake);
        superuser.createSnapshot(lake, "s1");
        Path copy = new Path("/lake/.snapshot/s1/sales/orders/part-0");
        try {
            try (FSDataInputStream in = superuser.open(copy)) {
                assertArrayEquals(PART0_BYTES, IOUtils.readFullyToByteArray(in), "the snapshot holds the data");
            }
            AccessControlException e = assertThrows(AccessControlException.class, () -> read("alice", copy));
            assertJitgateDenial(e, "alice", "hdfs:/lake/sales/orders/part-0", "read");
        } finally {
            superuser.deleteSnapshot(lake, "s1");
            ((DistributedFileSystem) superuser).disallowSnapshot(lake);
        }
    }

    @Test
    @Order(4)
    void pathOutsideZonesBehavesAsPlainHdfs() throws Exception {
        assertArrayEquals(OPEN_BYTES, read("alice", OPEN_DATA));
        AccessControlException e = assertThrows(AccessControlException.class, () -> read("alice", PRIVATE));
        // The message carries the NameNode's stack trace after its first line; the enforcer is in it.
        assertTrue(e.getMessage().startsWith("Permission denied: user=alice"), e.getMessage());
        assertFalse(e.getMessage().contains("jitgate:"), e.getMessage());
    }

    @Test
    @Order(5)
    void writeAndMkdirInZoneWithoutWriteGrantAreDenied() throws Exception {
        Path dir = new Path("/lake/sales/new");
        assertJitgateDenial(assertThrows(AccessControlException.class, () -> as("alice").mkdirs(dir)),
                "alice", "hdfs:/lake/sales/new", "write");
        Path file = new Path("/lake/sales/orders/part-1");
        assertJitgateDenial(assertThrows(AccessControlException.class, () -> as("alice").create(file).close()),
                "alice", "hdfs:/lake/sales/orders/part-1", "write");
        assertFalse(superuser.exists(dir) || superuser.exists(file));

        assertTrue(as("alice").mkdirs(new Path("/scratch/alice")), "outside zones HDFS decides");
    }

    @Test
    @Order(6)
    void deleteOrRenameOfAZoneAncestorIsDenied() throws Exception {
        assertTrue(as("alice").delete(new Path("/scratch/tree"), true),
                "HDFS bits let alice delete a 777 tree like /lake");

        Path lake = new Path("/lake");
        assertJitgateDenial(assertThrows(AccessControlException.class, () -> as("alice").delete(lake, true)),
                "alice", "hdfs:/lake", "write");
        assertJitgateDenial(assertThrows(AccessControlException.class,
                () -> as("alice").rename(lake, new Path("/lake-moved"))), "alice", "hdfs:/lake", "transform");
        assertTrue(superuser.exists(PART0));
    }

    @Test
    @Order(7)
    void approvedGrantAllowsRead() throws Exception {
        aliceRequestId = service.request("alice", "hdfs:/lake/sales", "read", "1m", "INC-4411: check the order feed");
        long approvedAt = System.nanoTime();
        aliceGrantId = service.approve(aliceRequestId, APPROVER, APPROVERS).path("grant").path("id").asText();

        byte[] data = eventually(Duration.ofSeconds(30), "alice's read after the approval", () -> read("alice", PART0));
        System.out.printf("jitgate: approve -> first allowed HDFS read took %d ms%n",
                (System.nanoTime() - approvedAt) / 1_000_000);
        assertArrayEquals(PART0_BYTES, data);
        assertEquals(2, as("alice").listStatus(PART0.getParent()).length, "listing is a read too");

        assertJitgateDenial(assertThrows(AccessControlException.class,
                () -> as("alice").mkdirs(new Path("/lake/sales/new"))),
                "alice", "hdfs:/lake/sales/new", "write");
        assertThrows(AccessControlException.class, () -> read("carol", PART0), "the grant is alice's only");
    }

    /** The plugin's numbers as the NameNode's metrics system reads them from its registered source. */
    private static Map<String, Number> metrics2() {
        MetricsSource source = DefaultMetricsSystem.instance().getSource(JitGateMetricsSource.NAME);
        assertNotNull(source, "the provider registered its metrics2 source");
        MetricsCollectorImpl collector = new MetricsCollectorImpl();
        source.getMetrics(collector, true);
        Map<String, Number> values = new HashMap<>();
        // Read through the public MetricsRecord: the record's own class is package-private on
        // Hadoop 3.3, and naming it (as the list's element type does) fails there.
        List<?> records = collector.getRecords();
        for (AbstractMetric m : ((MetricsRecord) records.get(0)).metrics()) {
            values.put(m.name(), m.value());
        }
        return values;
    }

    @Test
    @Order(14)
    void metrics2CountsTheNameNodesDecisions() throws Exception {
        grantRead("frank", "5m");
        eventually(Duration.ofSeconds(30), "frank's read after the approval", () -> read("frank", PART0));
        Map<String, Number> before = metrics2();
        read("frank", PART0);
        assertThrows(AccessControlException.class, () -> read("gina", PART0));
        Map<String, Number> after = metrics2();
        assertTrue(after.get("DecisionsAllowed").longValue() > before.get("DecisionsAllowed").longValue(), after.toString());
        assertTrue(after.get("DecisionsDenied").longValue() > before.get("DecisionsDenied").longValue(), after.toString());
        assertEquals(0L, after.get("FeedLagMillis").longValue(), "the plugin follows the feed");
        for (String gauge : new String[] {"SnapshotAgeMillis", "AuditQueueDepth", "AuditSpillBytes"}) {
            assertTrue(after.get(gauge).longValue() >= 0, gauge + " in " + after);
        }
    }

    /**
     * Approvers see what a requested path is before deciding: the NameNode plugin counts it as the
     * NameNode's own user and tells the service. The requester, who may not read it yet, is not
     * shown the counts.
     */
    @Test
    @Order(15)
    void approversSeeWhatARequestedPathIs() throws Exception {
        Path ctx = new Path("/lake/sales/context");
        write(new Path(ctx, "a"), new byte[100], superuser.getDefaultBlockSize(ctx));
        write(new Path(ctx, "sub/b"), new byte[23], superuser.getDefaultBlockSize(ctx));
        write(new Path(ctx, "sub/c"), new byte[0], superuser.getDefaultBlockSize(ctx));
        String id = service.request("hank", List.of("hdfs:/lake/sales/context", "hdfs:/lake/sales/context/a",
                "hdfs:/lake/sales/none"), List.of("read"), "5m", "context", false);

        JsonNode shown = service.awaitContext(id, Duration.ofSeconds(30));
        JsonNode dir = shown.get(0);
        assertEquals("known", dir.path("state").asText(), dir.toString());
        assertEquals("directory", dir.path("kind").asText(), dir.toString());
        assertEquals(3, dir.path("files").asLong(), dir.toString());
        assertEquals(2, dir.path("directories").asLong(), "context and context/sub: " + dir);
        assertEquals(123, dir.path("bytes").asLong(), dir.toString());
        assertEquals("plugin", dir.path("source").asText(), dir.toString());
        JsonNode file = shown.get(1);
        assertEquals("file", file.path("kind").asText(), file.toString());
        assertEquals(1, file.path("files").asLong(), file.toString());
        assertEquals(100, file.path("bytes").asLong(), file.toString());
        JsonNode none = shown.get(2);
        assertEquals("failed", none.path("state").asText(), none.toString());
        assertEquals("no such path", none.path("error").asText(), none.toString());

        service.context(id, "hank", null, 403);
        assertThrows(AccessControlException.class, () -> read("hank", new Path(ctx, "a")),
                "describing a path grants nothing");
    }

    /**
     * Or the service asks WebHDFS, as a user the NameNode lets count a zone's paths: its own
     * (super)user. A plain user gets what jitgate's NameNode plugin gives a user with no grant: no
     * count, and the page says why.
     */
    @Test
    @Order(16)
    void theServiceMayAskWebHdfsInstead(@TempDir java.nio.file.Path dir) throws Exception {
        String webhdfs = "http://" + NetUtils.getHostPortString(cluster.getNameNode().getHttpAddress());
        String nnUser = UserGroupInformation.getCurrentUser().getShortUserName();
        for (String user : new String[] {nnUser, "ivy"}) {
            try (JitGateService asker = JitGateService.start(java.nio.file.Files.createDirectories(dir.resolve(user)), JitGateService.SALES_ZONE
                    + "[context]\nhdfs = \"webhdfs\"\nwebhdfs_url = \"" + webhdfs + "\"\nwebhdfs_user = \"" + user
                    + "\"\n")) {
                String id = asker.request("hank", List.of("hdfs:/lake/sales/context", "hdfs:/lake/sales/none"),
                        List.of("read"), "5m", "context", false);
                JsonNode shown = asker.awaitContext(id, Duration.ofSeconds(30));
                JsonNode dir0 = shown.get(0);
                if (user.equals(nnUser)) {
                    assertEquals("known", dir0.path("state").asText(), dir0.toString());
                    assertEquals(3, dir0.path("files").asLong(), dir0.toString());
                    assertEquals(2, dir0.path("directories").asLong(), dir0.toString());
                    assertEquals(123, dir0.path("bytes").asLong(), dir0.toString());
                    assertEquals("webhdfs", dir0.path("source").asText(), dir0.toString());
                    assertEquals("no such path", shown.get(1).path("error").asText(), shown.toString());
                } else {
                    assertEquals("failed", dir0.path("state").asText(), dir0.toString());
                    // The directory is 777: jitgate is what refused the count.
                    assertTrue(dir0.path("error").asText().contains("Permission denied: user=ivy"), dir0.toString());
                }
            }
        }
    }

    /**
     * A revoke denies the next open. What it does not do: an input stream opened while the grant was
     * active keeps reading the blocks whose locations it already fetched, because HDFS checks
     * permission only at the NameNode (open and each block-location fetch) and DataNodes serve any
     * block the client can name. The stream is stopped at its next block-location fetch: for files
     * up to {@code dfs.client.read.prefetch.size} (10 blocks by default, over 1 GB) that never comes.
     */
    @Test
    @Order(8)
    void revokeDeniesNextOpen() throws Exception {
        String grant = grantRead("carol", "5m");
        eventually(Duration.ofSeconds(30), "carol's read after the approval", () -> read("carol", PART0));

        byte[] expected = bigBytes();
        try (FSDataInputStream in = as("carol").open(BIG)) {
            byte[] head = new byte[100];
            in.readFully(head);

            long revokedAt = System.nanoTime();
            service.revoke(grant, APPROVER, APPROVERS);
            AccessControlException denied = eventuallyDenied(Duration.ofSeconds(10), "denial after the revoke",
                    () -> read("carol", PART0));
            System.out.printf("jitgate: revoke -> first denied HDFS open took %d ms%n",
                    (System.nanoTime() - revokedAt) / 1_000_000);
            assertJitgateDenial(denied, "carol", "hdfs:/lake/sales/orders/part-0", "read");

            byte[] rest = new byte[2 * BLOCK - head.length];
            in.readFully(rest);
            byte[] located = new byte[2 * BLOCK];
            System.arraycopy(head, 0, located, 0, head.length);
            System.arraycopy(rest, 0, located, head.length, rest.length);
            assertArrayEquals(Arrays.copyOf(expected, 2 * BLOCK), located,
                    "the open stream still reads blocks it had located before the revoke");

            in.seek((long) BIG_BLOCKS / 2 * BLOCK);
            IOException beyond = assertThrows(IOException.class, () -> in.readFully(new byte[16]),
                    "the next block-location fetch is checked again");
            assertJitgateDenial(beyond, "carol", "hdfs:/lake/sales/orders/part-big", "read");
        }
    }

    @Test
    @Order(9)
    void auditTrailRecordsAllowsAndDenies() throws Exception {
        JsonNode events = eventually(Duration.ofSeconds(20), "alice's allow and deny in the audit trail", () -> {
            JsonNode all = service.audit("alice", APPROVER, APPROVERS);
            boolean allow = false;
            boolean deny = false;
            for (JsonNode e : all) {
                if (!e.path("resource").asText().startsWith("hdfs:/lake/sales")
                        || !e.path("action").asText().contains("read")) {
                    continue;
                }
                if ("allow".equals(e.path("decision").asText())) {
                    allow = true;
                } else if ("deny".equals(e.path("decision").asText())) {
                    deny = true;
                }
            }
            if (!allow || !deny) {
                throw new IllegalStateException("allow=" + allow + " deny=" + deny + " in " + all);
            }
            return all;
        });
        for (JsonNode e : events) {
            if ("allow".equals(e.path("decision").asText())) {
                assertEquals(aliceGrantId, e.path("grant_id").asText(), e.toString());
                assertEquals(aliceRequestId, e.path("request_id").asText(), e.toString());
                assertEquals("hdfs", e.path("plugin").asText(), e.toString());
            }
        }
    }

    /** Every call that hands out a zone file's blocks needs read on it, whatever the NameNode checks. */
    @Test
    @Order(10)
    void blocksOfAZoneFileAreHandedOutOnlyUnderARead() throws Exception {
        DistributedFileSystem mallory = (DistributedFileSystem) as("mallory");
        FileStatus status = mallory.getFileStatus(PART0);
        assertEquals(PART0_BYTES.length, status.getLen(), "a stat is no read: it stays allowed");
        PathHandle handle = mallory.getPathHandle(status);
        String part0 = "hdfs:/lake/sales/orders/part-0";
        assertJitgateDenial(assertThrows(AccessControlException.class, () -> {
            try (FSDataInputStream in = mallory.open(handle)) {
                in.read();
            }
        }), "mallory", part0, "read");
        for (boolean blockToken : new boolean[] {true, false}) {
            assertJitgateDenial(assertThrows(AccessControlException.class,
                    () -> mallory.getClient().getLocatedFileInfo(PART0.toString(), blockToken)),
                    "mallory", part0, "read");
        }
        assertJitgateDenial(assertThrows(AccessControlException.class,
                () -> mallory.listLocatedStatus(PART0).hasNext()), "mallory", part0, "read");
        Exception batched = assertThrows(IOException.class,
                () -> mallory.batchedListLocatedStatusIterator(List.of(PART0)).next().get());
        assertTrue(batched.getMessage().contains("jitgate: mallory may not read " + part0), batched.getMessage());

        assertJitgateDenial(assertThrows(AccessControlException.class,
                () -> read("mallory", new Path("/.reserved/raw/lake/sales/orders/part-0"))), "mallory", part0, "read");
        assertJitgateDenial(assertThrows(AccessControlException.class,
                () -> read("mallory", new Path("/.reserved/.inodes/" + ((HdfsFileStatus) status).getFileId()))), "mallory", part0, "read");

        // Outside every zone the same calls are plain HDFS.
        assertEquals(OPEN_BYTES.length, mallory.getClient().getLocatedFileInfo(OPEN_DATA.toString(), true).getLen());
        assertTrue(mallory.listLocatedStatus(OPEN_DATA).hasNext());
        try (FSDataInputStream in = mallory.open(mallory.getPathHandle(mallory.getFileStatus(OPEN_DATA)))) {
            assertArrayEquals(OPEN_BYTES, IOUtils.readFullyToByteArray(in));
        }
    }

    /** A link is resolved by the client, so reading through it is decided on its target; new links are refused. */
    @Test
    @Order(11)
    void symlinksGiveNoWayAroundAZone() throws Exception {
        FileSystem.enableSymlinks();
        Path link = new Path("/scratch/to-part-0");
        FileContext.getFileContext(cluster.getURI(), cluster.getConfiguration(0)).createSymlink(PART0, link, false);
        FileContext mallory = UserGroupInformation.createUserForTesting("mallory", new String[] {"analysts"})
                .doAs((PrivilegedExceptionAction<FileContext>) () ->
                        FileContext.getFileContext(cluster.getURI(), cluster.getConfiguration(0)));
        assertJitgateDenial(assertThrows(AccessControlException.class, () -> {
            try (FSDataInputStream in = mallory.open(link)) {
                in.read();
            }
        }), "mallory", "hdfs:/lake/sales/orders/part-0", "read");
        // Writing through a link to a file HDFS lets anyone write: jitgate decides on the target.
        Path writable = new Path("/lake/sales/orders/world-writable");
        write(writable, PART0_BYTES, superuser.getDefaultBlockSize(writable));
        superuser.setPermission(writable, new FsPermission((short) 0666));
        Path writeLink = new Path("/scratch/to-world-writable");
        FileContext.getFileContext(cluster.getURI(), cluster.getConfiguration(0)).createSymlink(writable, writeLink, false);
        for (EnumSet<CreateFlag> how : List.of(EnumSet.of(CreateFlag.CREATE, CreateFlag.OVERWRITE),
                EnumSet.of(CreateFlag.APPEND))) {
            assertJitgateDenial(assertThrows(AccessControlException.class,
                    () -> mallory.create(writeLink, how).close()),
                    "mallory", "hdfs:/lake/sales/orders/world-writable", "write");
        }
        try (FSDataInputStream in = superuser.open(writable)) {
            assertArrayEquals(PART0_BYTES, IOUtils.readFullyToByteArray(in), "the target is unchanged");
        }
        AccessControlException created = assertThrows(AccessControlException.class,
                () -> mallory.createSymlink(PART0, new Path("/scratch/mallory-link"), false));
        assertTrue(created.getMessage().startsWith("jitgate: mallory may not create the symlink"),
                created.getMessage());
        assertFalse(superuser.exists(new Path("/scratch/mallory-link")));
    }

    /** Moving zone data out of its zone (a rename, the trash) is an export, even for a user allowed to transform. */
    @Test
    @Order(12)
    void movingDataOutOfTheZoneNeedsExport() throws Exception {
        Path file = new Path("/lake/sales/orders/erin-0");
        write(file, PART0_BYTES, superuser.getDefaultBlockSize(file));
        superuser.mkdirs(new Path("/user"), new FsPermission((short) 0777));
        superuser.setPermission(new Path("/user"), new FsPermission((short) 0777));
        String transform = service.request("erin", "hdfs:/lake/sales", "transform", "5m", "INC-4412: tidy the orders");
        service.approve(transform, APPROVER, APPROVERS);
        Path within = new Path("/lake/sales/orders/erin-1");
        assertTrue(eventually(Duration.ofSeconds(30), "erin's rename within the zone",
                () -> as("erin").rename(file, within)));

        AccessControlException out = assertThrows(AccessControlException.class,
                () -> as("erin").rename(within, new Path("/scratch/erin-1")));
        assertJitgateDenial(out, "erin", "hdfs:/lake/sales/orders/erin-1", "export");
        Configuration trashConf = new Configuration(cluster.getConfiguration(0));
        trashConf.setLong("fs.trash.interval", 10);
        IOException trashed = assertThrows(IOException.class, () -> new Trash(as("erin"), trashConf).moveToTrash(within),
                "hdfs dfs -rm moves into the user's .Trash, outside the zone");
        assertTrue(String.valueOf(trashed.getCause()).contains("may not export and transform"), String.valueOf(trashed.getCause()));
        assertJitgateDenial(assertThrows(AccessControlException.class,
                () -> as("erin").rename(new Path("/lake/sales/orders"), new Path("/scratch/orders"))),
                "erin", "hdfs:/lake/sales/orders", "export");
        assertTrue(superuser.exists(within), "nothing moved");

        String export = service.request("erin", "hdfs:/lake/sales", "export", "5m", "INC-4412: hand over");
        service.approve(export, APPROVER, APPROVERS);
        assertTrue(eventually(Duration.ofSeconds(30), "erin's rename out with export",
                () -> as("erin").rename(within, new Path("/scratch/erin-1"))));
    }

    /**
     * A stream opened under a write grant is stopped once no grant covers it: the plugin recovers
     * its lease, so its next NameNode call fails and the DataNode stops the block at its next
     * heartbeat. The stream writes and flushes every 100 ms, as a long-running ingest would, and
     * is renamed while open (the plugin follows the file, not its first path).
     */
    @Test
    @Order(13)
    void aWriterStopsWhenNoGrantCoversItAnyMore() throws Exception {
        String first = grant("gus", "write");
        String second = grant("gus", "write,transform");
        Path file = new Path("/lake/sales/orders/gus-0");
        Path renamed = new Path("/lake/sales/orders/gus-renamed");
        byte[] line = "9,plums\n".getBytes(StandardCharsets.UTF_8);
        FSDataOutputStream out = eventually(Duration.ofSeconds(30), "gus's create under the grant",
                () -> as("gus").create(file, true));
        // One grant ends while another still covers the stream: it goes on, also once renamed.
        service.revoke(first, APPROVER, APPROVERS);
        for (int i = 0; i < 15; i++) {
            out.write(line);
            out.hflush();
            Thread.sleep(100);
        }
        assertTrue(as("gus").rename(file, renamed));
        out.write(line);
        out.hflush();

        long revokedAt = System.nanoTime();
        service.revoke(second, APPROVER, APPROVERS);
        IOException stopped = null;
        int written = 0;
        while (stopped == null && System.nanoTime() - revokedAt < Duration.ofSeconds(60).toNanos()) {
            try {
                out.write(line);
                out.hflush();
                written++;
                Thread.sleep(100);
            } catch (IOException e) {
                stopped = e;
            }
        }
        long tookMs = (System.nanoTime() - revokedAt) / 1_000_000;
        System.out.printf("jitgate: revoke -> writer stopped took %d ms (%d flushes after the revoke)%n",
                tookMs, written);
        assertTrue(stopped != null, "the writer kept writing for 60 s after its last grant was revoked");
        assertThrows(IOException.class, out::close, "the stream lost its lease");
        assertJitgateDenial(assertThrows(AccessControlException.class, () -> as("gus").append(renamed)),
                "gus", "hdfs:/lake/sales/orders/gus-renamed", "write");
    }

    private static String grant(String user, String actions) throws Exception {
        String request = service.request(user, List.of("hdfs:/lake/sales"), List.of(actions.split(",")), "5m",
                "INC-4413: backfill", false);
        return service.approve(request, APPROVER, APPROVERS).path("grant").path("id").asText();
    }

    /** Expiry needs no service: the plugin denies from the expiry instant on, even with the service gone. */
    @Test
    @Order(20)
    void shortGrantExpiresWithServiceStopped() throws Exception {
        String id = service.request("dave", "hdfs:/lake/sales", "read", "3s", "a quick look");
        JsonNode grant = service.approve(id, APPROVER, APPROVERS).path("grant");
        Instant expiresAt = Instant.parse(grant.path("expires_at").asText());

        while (true) {
            try {
                assertArrayEquals(PART0_BYTES, read("dave", PART0));
                break;
            } catch (AccessControlException notYet) {
                if (Instant.now().isAfter(expiresAt)) {
                    fail("the 3 s grant never reached the NameNode before it expired at " + expiresAt);
                }
                Thread.sleep(20);
            }
        }

        service.close();
        if (Instant.now().isBefore(expiresAt.minusMillis(500))) {
            assertArrayEquals(PART0_BYTES, read("dave", PART0), "with the service down the grant still holds");
        }
        long untilExpiry = Duration.between(Instant.now(), expiresAt).toMillis();
        Thread.sleep(Math.max(0, untilExpiry) + 100);
        AccessControlException e = assertThrows(AccessControlException.class, () -> read("dave", PART0));
        assertJitgateDenial(e, "dave", "hdfs:/lake/sales/orders/part-0", "read");
    }
}
