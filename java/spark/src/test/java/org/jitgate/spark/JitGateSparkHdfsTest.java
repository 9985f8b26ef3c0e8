package org.jitgate.spark;

import static org.jitgate.spark.SparkFixture.APPROVER;
import static org.jitgate.spark.SparkFixture.APPROVERS;
import static org.jitgate.spark.SparkFixture.as;
import static org.jitgate.spark.SparkFixture.assertDenial;
import static org.jitgate.spark.SparkFixture.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.security.AccessControlException;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.SparkSession;
import org.jitgate.hdfs.JitGateAttributeProvider;
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
 * Both layers on one lake: Spark reads {@code sales.orders}, whose parquet files live in a real
 * NameNode (MiniDFSCluster) with jitgate's NameNode plugin. The zone names the table and its
 * storage ({@code hive:sales.*}, {@code hdfs:/lake/sales}); the Spark plugin and the NameNode
 * plugin share this JVM's engine, which follows one {@code jitgate serve}.
 *
 * <p>The Spark application is alice's (its SparkContext is created as alice, as spark-submit by
 * alice would), so her queries reach HDFS as alice. HDFS permission bits are wide open: where an
 * HDFS call is denied, jitgate denied it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JitGateSparkHdfsTest {
    private static final String TABLE = "hive:sales.orders";
    private static final String STORAGE = "hdfs:/lake/sales";
    private static final String COUNT = "SELECT count(*) FROM sales.orders";
    private static final int ROWS = 1000;

    private static JitGateService service;
    private static MiniDFSCluster cluster;
    private static SparkSession spark;
    private static org.apache.hadoop.fs.Path partFile;
    private static String aliceGrant;

    @RegisterExtension
    static final TestWatcher SERVICE_LOG_ON_FAILURE = JitGateService.logOnFailure(() -> service);

    @BeforeAll
    static void startServiceClusterAndSpark(@TempDir Path dir) throws Exception {
        service = JitGateService.start(dir);

        Configuration conf = new HdfsConfiguration();
        conf.set(DFSConfigKeys.DFS_NAMENODE_INODE_ATTRIBUTES_PROVIDER_KEY, JitGateAttributeProvider.class.getName());
        conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, true);
        conf.set("jitgate.service.url", service.url());
        conf.set("jitgate.service.token.file", service.tokensFile().toString());
        conf.set("jitgate.cache.dir", dir.resolve("jitgate-cache").toString());
        cluster = new MiniDFSCluster.Builder(conf, dir.resolve("dfs").toFile()).numDataNodes(1).build();
        cluster.waitActive();

        spark = as("alice", () -> SparkFixture.start(dir, service, Map.of()));

        // The data: parquet files Spark writes locally, put into the zone by the HDFS superuser.
        File local = dir.resolve("orders-parquet").toFile();
        spark.range(0, ROWS, 1, 2).selectExpr("id", "concat('item-', id) AS item", "id * 10 AS amount")
                .write().parquet(local.toURI().toString());
        FileSystem superuser = cluster.getFileSystem();
        FsPermission open = new FsPermission((short) 0777);
        superuser.setPermission(new org.apache.hadoop.fs.Path("/"), open);
        org.apache.hadoop.fs.Path orders = new org.apache.hadoop.fs.Path("/lake/sales/orders");
        for (org.apache.hadoop.fs.Path p : new org.apache.hadoop.fs.Path[] {
            new org.apache.hadoop.fs.Path("/lake"), new org.apache.hadoop.fs.Path("/lake/sales"), orders}) {
            superuser.mkdirs(p);
            superuser.setPermission(p, open);
        }
        List<org.apache.hadoop.fs.Path> parts = new ArrayList<>();
        for (File f : local.listFiles((d, name) -> name.endsWith(".parquet"))) {
            org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(orders, f.getName());
            superuser.copyFromLocalFile(new org.apache.hadoop.fs.Path(f.toURI()), target);
            superuser.setPermission(target, new FsPermission((short) 0644));
            parts.add(target);
        }
        partFile = parts.get(0);

        // The data owner registers the table under a grant on both the table and its storage.
        service.grant("etl", List.of("hive:sales.*", STORAGE), List.of("read", "transform"), "10m", false);
        String location = cluster.getURI() + "/lake/sales/orders";
        as("etl", () -> eventually(Duration.ofSeconds(10), "etl's CREATE DATABASE",
                () -> spark.sql("CREATE DATABASE IF NOT EXISTS sales")));
        as("etl", () -> spark.sql("CREATE TABLE sales.orders (id BIGINT, item STRING, amount BIGINT)"
                + " USING parquet LOCATION '" + location + "'"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (spark != null) {
            spark.stop();
        }
        if (cluster != null) {
            cluster.shutdown();
        }
        if (service != null) {
            service.close();
        }
    }

    private static long count() throws Exception {
        return as("alice", () -> spark.sql(COUNT).collectAsList().get(0).getLong(0));
    }

    /** alice reads a part file straight from the NameNode, with her own client. */
    private static byte[] readPartFromHdfs() throws Exception {
        return as("alice", () -> {
            try (FileSystem fs = FileSystem.newInstance(cluster.getURI(), cluster.getConfiguration(0));
                 InputStream in = fs.open(partFile)) {
                return in.readAllBytes();
            }
        });
    }

    /** A jitgate denial somewhere in the chain (Spark wraps the NameNode's errors it meets while planning). */
    private static void assertJitgateDenialInChain(Throwable e, String user, String resourcePrefix) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage() == null ? "" : t.getMessage();
            if (m.contains("jitgate: " + user + " may not read " + resourcePrefix)) {
                return;
            }
        }
        throw new AssertionError("expected a jitgate denial of " + user + " reading " + resourcePrefix, e);
    }

    @Test
    @Order(1)
    void withoutGrantBothLayersDeny() throws Exception {
        Exception spark = assertThrows(Exception.class, JitGateSparkHdfsTest::count);
        // Spark lists the table's files while it resolves the table: the NameNode may refuse first.
        assertJitgateDenialInChain(spark, "alice", "");
        AccessControlException hdfs = assertThrows(AccessControlException.class,
                JitGateSparkHdfsTest::readPartFromHdfs);
        assertJitgateDenialInChain(hdfs, "alice", STORAGE);
    }

    @Test
    @Order(2)
    void oneGrantOnTableAndStorageAllowsBothLayers() throws Exception {
        long approving = System.nanoTime();
        aliceGrant = service.grant("alice", List.of(TABLE, STORAGE), List.of("read"), "5m", false);
        long[] attempt = new long[1];
        assertEquals(ROWS, eventually(Duration.ofSeconds(15), "alice's Spark read", () -> {
            attempt[0] = System.nanoTime();
            return count();
        }));
        long now = System.nanoTime();
        System.out.printf("jitgate: approve -> first allowed Spark read over HDFS took %d ms"
                + " (the allowed query itself %d ms)%n", (now - approving) / 1_000_000, (now - attempt[0]) / 1_000_000);
        assertTrue(readPartFromHdfs().length > 0, "the NameNode lets alice read the file");

        // ADD FILE/JAR copies the file to the driver and executors: out of the zone, an export.
        String part = cluster.getURI() + partFile.toUri().getPath();
        for (String add : new String[] {"ADD FILE '" + part + "'", "ADD JAR '" + part + "'"}) {
            Exception denied = assertThrows(Exception.class, () -> as("alice", () -> spark.sql(add)), add);
            assertDenial(denied, "alice", "read and export", "hdfs:" + partFile.toUri().getPath());
        }
    }

    @Test
    @Order(3)
    void afterRevokeBothLayersDeny() throws Exception {
        long revoking = System.nanoTime();
        service.revoke(aliceGrant, APPROVER, APPROVERS);
        AnalysisException spark = SparkFixture.eventuallyDenied(Duration.ofSeconds(10), "alice's Spark denial",
                JitGateSparkHdfsTest::count);
        System.out.printf("jitgate: revoke -> first denied Spark read over HDFS took %d ms%n",
                (System.nanoTime() - revoking) / 1_000_000);
        String first = spark.getMessage().lines().findFirst().orElse("");
        assertTrue(first.contains(TABLE) || first.contains(STORAGE), first);
        assertDenial(spark, "alice", "read", first.contains(TABLE) ? TABLE : STORAGE);
        AccessControlException hdfs = assertThrows(AccessControlException.class,
                JitGateSparkHdfsTest::readPartFromHdfs);
        assertJitgateDenialInChain(hdfs, "alice", STORAGE + "/orders/");
    }
}
