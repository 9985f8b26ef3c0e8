package org.jitgate.spark;

import static org.jitgate.spark.SparkFixture.APPROVER;
import static org.jitgate.spark.SparkFixture.APPROVERS;
import static org.jitgate.spark.SparkFixture.as;
import static org.jitgate.spark.SparkFixture.assertDenial;
import static org.jitgate.spark.SparkFixture.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        conf.set("jitgate.service.public.key.file", service.publicKeyFile().toString());
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

    /** Where open_db's tables, partitions and database point, and what lies in the zone: what a refusal must not change. */
    private static String pointers() throws Exception {
        org.apache.spark.sql.catalyst.catalog.ExternalCatalog catalog = spark.sharedState().externalCatalog();
        StringBuilder out = new StringBuilder();
        out.append("open_db=").append(catalog.getDatabase("open_db").locationUri()).append('\n');
        out.append("databases=").append(catalog.listDatabases()).append('\n');
        out.append("tables=").append(catalog.listTables("open_db")).append('\n');
        for (String t : new String[] {"t", "p"}) {
            out.append(t).append('=').append(catalog.getTable("open_db", t).location()).append('\n');
        }
        catalog.listPartitions("open_db", "p", scala.Option.empty()).foreach(part -> out.append("p ")
                .append(part.spec()).append('=').append(part.location()).append('\n'));
        FileSystem superuser = cluster.getFileSystem();
        for (org.apache.hadoop.fs.FileStatus f : superuser.listStatus(new org.apache.hadoop.fs.Path("/lake/sales"))) {
            out.append("zone ").append(f.getPath().toUri().getPath()).append('\n');
        }
        return out.toString();
    }

    /**
     * A table, a partition or a database outside the zone pointed at the zone's storage: the
     * location is read from then on (a database's is written), so pointing needs a grant there,
     * decided before anything changes. The attack this pins: ALTER TABLE open_db.t SET LOCATION
     * at zone files used to be applied before the refresh that followed it was refused, and a
     * DROP TABLE then deleted the zone's files.
     */
    @Test
    @Order(4)
    void pointingAtZoneStorageNeedsAGrantAndARefusalChangesNothing() throws Exception {
        String nn = cluster.getURI().toString();
        String zoneFiles = nn + "/lake/sales/orders";
        as("mallory", () -> spark.sql("CREATE DATABASE open_db LOCATION '" + nn + "/open/open_db.db'"));
        as("mallory", () -> spark.sql("CREATE TABLE open_db.t (id BIGINT, item STRING, amount BIGINT)"
                + " USING parquet LOCATION '" + nn + "/open/t'"));
        as("mallory", () -> spark.sql("CREATE TABLE open_db.p (id BIGINT, d STRING) USING parquet"
                + " PARTITIONED BY (d) LOCATION '" + nn + "/open/p'"));
        as("mallory", () -> spark.sql("ALTER TABLE open_db.p ADD PARTITION (d='a')"));
        String before = pointers();
        String[] attacks = {
            "ALTER TABLE open_db.t SET LOCATION '" + zoneFiles + "'",
            "ALTER TABLE open_db.p ADD PARTITION (d='b') LOCATION '" + zoneFiles + "'",
            "ALTER TABLE open_db.p PARTITION (d='a') SET LOCATION '" + zoneFiles + "'",
            "CREATE TABLE open_db.u (id BIGINT, item STRING, amount BIGINT) USING parquet LOCATION '" + zoneFiles + "'",
            "CREATE TABLE open_db.h (id BIGINT, item STRING, amount BIGINT) STORED AS parquet LOCATION '"
                    + zoneFiles + "'",
            "CREATE DATABASE evil LOCATION '" + nn + "/lake/sales/evil.db'",
            "ALTER DATABASE open_db SET LOCATION '" + nn + "/lake/sales/open_db.db'",
        };
        for (String attack : attacks) {
            Exception denied = assertThrows(Exception.class, () -> as("mallory", () -> spark.sql(attack)), attack);
            assertEquals(before, pointers(), "after the refused " + attack + " (" + denied + ")");
            assertTrue(denied instanceof AnalysisException && denied.getMessage().startsWith("jitgate: mallory may not ")
                    && denied.getMessage().contains(STORAGE), attack + " -> " + denied);
        }

        // With read on the storage, pointing is allowed; reading through the pointer stays bound to
        // the zone. (The application is alice's: its tasks read HDFS as alice.)
        service.grant("alice", List.of(STORAGE), List.of("read"), "5m", false);
        eventually(Duration.ofSeconds(10), "alice's SET LOCATION",
                () -> as("alice", () -> spark.sql("ALTER TABLE open_db.t SET LOCATION '" + zoneFiles + "'")));
        assertEquals(zoneFiles, spark.sharedState().externalCatalog().getTable("open_db", "t").location().toString());
        assertEquals(ROWS, as("alice", () -> spark.sql("SELECT count(*) FROM open_db.t").collectAsList().get(0).getLong(0)));
        Exception mallory = assertThrows(Exception.class,
                () -> as("mallory", () -> spark.sql("SELECT count(*) FROM open_db.t").collectAsList()));
        assertDenial(mallory, "mallory", "read", STORAGE + "/orders");
        Exception drop = assertThrows(Exception.class, () -> as("mallory", () -> spark.sql("DROP TABLE open_db.t")));
        assertTrue(drop.getMessage().startsWith("jitgate: mallory may not "), drop.getMessage());
        assertTrue(cluster.getFileSystem().exists(partFile), "the zone's files are still there");
    }

    /** The partitions of sales.events with their row counts, and the zone's staging files: what a refusal must not change. */
    private static String events() throws Exception {
        org.apache.spark.sql.catalyst.catalog.ExternalCatalog catalog = spark.sharedState().externalCatalog();
        StringBuilder out = new StringBuilder();
        catalog.listPartitions("sales", "events", scala.Option.empty()).foreach(part -> out.append(part.spec())
                .append('=').append(part.location()).append('\n'));
        FileSystem superuser = cluster.getFileSystem();
        org.apache.hadoop.fs.RemoteIterator<org.apache.hadoop.fs.LocatedFileStatus> files =
                superuser.listFiles(new org.apache.hadoop.fs.Path("/lake/sales/events"), true);
        while (files.hasNext()) {
            org.apache.hadoop.fs.LocatedFileStatus f = files.next();
            out.append(f.getPath().toUri().getPath()).append(' ').append(f.getLen()).append('\n');
        }
        for (org.apache.hadoop.fs.FileStatus f : superuser.listStatus(new org.apache.hadoop.fs.Path("/lake/sales/staging"))) {
            out.append(f.getPath().toUri().getPath()).append('\n');
        }
        return out.toString();
    }

    /**
     * A command is decided once, with everything its run triggers: TRUNCATE TABLE ... PARTITION
     * and LOAD DATA by a holder of write used to change the data and then report the refusal of
     * the table refresh that followed. And a LOAD DATA refused for want of read on its source
     * changes nothing.
     */
    @Test
    @Order(5)
    void aCommandIsDecidedWithWhatItsRunTriggers() throws Exception {
        String nn = cluster.getURI().toString();
        FileSystem superuser = cluster.getFileSystem();
        org.apache.hadoop.fs.Path staging = new org.apache.hadoop.fs.Path("/lake/sales/staging");
        superuser.mkdirs(staging);
        superuser.setPermission(staging, new FsPermission((short) 0777));
        for (String name : new String[] {"one.parquet", "two.parquet"}) {
            org.apache.hadoop.fs.Path copy = new org.apache.hadoop.fs.Path(staging, name);
            org.apache.hadoop.fs.FileUtil.copy(superuser, partFile, superuser, copy, false, superuser.getConf());
            superuser.setPermission(copy, new FsPermission((short) 0666));
        }
        org.apache.hadoop.fs.Path events = new org.apache.hadoop.fs.Path("/lake/sales/events");
        superuser.mkdirs(events); // the metastore would make it as etl, whose grant does not write
        superuser.setPermission(events, new FsPermission((short) 0777));
        as("etl", () -> spark.sql("CREATE TABLE sales.events (id BIGINT, item STRING, amount BIGINT)"
                + " PARTITIONED BY (d STRING) STORED AS parquet"));
        // managed (TRUNCATE refuses external tables), stored in the zone
        as("etl", () -> spark.sql("ALTER TABLE sales.events SET LOCATION '" + nn + "/lake/sales/events'"));

        // Hadoop's output committer renames task files into place: the NameNode plugin asks transform for that.
        service.grant("alice", List.of("hive:sales.*", STORAGE), List.of("write", "transform"), "5m", false);
        eventually(Duration.ofSeconds(10), "alice's INSERT", () -> as("alice", () -> spark.sql(
                "INSERT INTO sales.events PARTITION (d='a') SELECT 1, 'x', 10")));
        as("alice", () -> spark.sql("INSERT INTO sales.events PARTITION (d='b') SELECT 2, 'y', 20"));
        as("alice", () -> spark.sql("TRUNCATE TABLE sales.events PARTITION (d='a')"));
        as("alice", () -> spark.sql("LOAD DATA INPATH '" + nn + "/lake/sales/staging/one.parquet'"
                + " INTO TABLE sales.events PARTITION (d='c')"));
        assertTrue(events().contains("d -> c"), events());

        // bob may write the zone but not read it: LOAD DATA reads its source, so it is refused whole.
        service.grant("bob", List.of("hive:sales.*", STORAGE), List.of("write"), "5m", false);
        String load = "LOAD DATA INPATH '" + nn + "/lake/sales/staging/two.parquet' INTO TABLE sales.events"
                + " PARTITION (d='e')";
        String before = events();
        AnalysisException denied = SparkFixture.eventuallyDenied(Duration.ofSeconds(10), "bob's LOAD DATA",
                () -> as("bob", () -> spark.sql(load)));
        assertDenial(denied, "bob", "read", STORAGE + "/staging/two.parquet");
        assertEquals(before, events());
    }

    /**
     * A location above a zone reaches the zone's files (Spark lists a table's directory with its
     * subdirectories; recursiveFileLookup reads them all): reading or pointing at it needs the
     * zone's grant.
     */
    @Test
    @Order(6)
    void aLocationAboveAZoneNeedsTheZonesGrant() throws Exception {
        String lake = cluster.getURI() + "/lake";
        Exception read = assertThrows(Exception.class, () -> as("mallory", () -> spark.read()
                .option("recursiveFileLookup", "true").parquet(lake).collectAsList()));
        // Spark lists the files while it resolves the read: here the NameNode plugin refuses first.
        assertJitgateDenialInChain(read, "mallory", "hdfs:/lake");
        Exception point = assertThrows(Exception.class, () -> as("mallory", () -> spark.sql(
                "CREATE TABLE open_db.everything (id BIGINT) USING parquet LOCATION '" + lake + "'")));
        assertDenial(point, "mallory", "read", "hdfs:/lake");
        assertFalse(spark.catalog().tableExists("open_db.everything"));
    }
}
