package org.jitgate.spark;

import static org.jitgate.spark.SparkFixture.APPROVER;
import static org.jitgate.spark.SparkFixture.APPROVERS;
import static org.jitgate.spark.SparkFixture.as;
import static org.jitgate.spark.SparkFixture.assertDenial;
import static org.jitgate.spark.SparkFixture.eventually;
import static org.jitgate.spark.SparkFixture.eventuallyDenied;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;
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
 * A local Spark session (Hive catalog on Derby, real parquet files) with the jitgate extension,
 * following a real {@code jitgate serve}. Users act through Spark as Hadoop users ({@code doAs}) and
 * through the service's HTTP API. Zone: {@code hive:sales.*} (and {@code hdfs:/lake/sales}).
 *
 * <p>Tests run in order on one session; each grant-holding test uses its own user.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JitGateSparkTest {
    private static final Duration GRANT_REACHES_SPARK = Duration.ofSeconds(10);
    /** Plugins post audit events asynchronously. */
    private static final Duration AUDIT_REACHES_SERVICE = Duration.ofSeconds(20);
    private static final Duration AUDIT_POLL = Duration.ofMillis(200);
    /** What the check as a query runs appends to the query's audit context. */
    private static final String EXECUTION = " spark.sql.execution.id=";
    private static final long ROWS = 4000;
    /** slow(): per row; 4000 rows over 2 task threads take about 10 s uncancelled. */
    private static final int SLOW_MILLIS = 5;
    private static final String ORDERS = "hive:sales.orders";
    private static final String COUNT_ORDERS = "SELECT count(*) FROM sales.orders";
    private static final String SLOW_SUM = "SELECT sum(slow(id)) FROM sales.orders";

    private static JitGateService service;
    private static SparkSession spark;
    private static Path dir;

    private static String aliceGrant;

    @RegisterExtension
    static final TestWatcher SERVICE_LOG_ON_FAILURE = JitGateService.logOnFailure(() -> service);

    @BeforeAll
    static void startServiceSparkAndData(@TempDir Path tmp) throws Exception {
        dir = tmp;
        service = JitGateService.start(dir);
        // The administrator switched off SQL on files; users must not switch it back on.
        spark = SparkFixture.start(dir, service, Map.of("spark.sql.runSQLOnFiles", "false",
                // a second catalog the administrator set up: a JDBC database, outside every zone
                "spark.sql.catalog.lakejdbc", "org.apache.spark.sql.execution.datasources.v2.jdbc.JDBCTableCatalog",
                "spark.sql.catalog.lakejdbc.url", "jdbc:derby:memory:lakejdbc;create=true",
                "spark.sql.catalog.lakejdbc.driver", "org.apache.derby.jdbc.EmbeddedDriver"));
        spark.udf().register("slow", (UDF1<Long, Long>) id -> {
            Thread.sleep(SLOW_MILLIS);
            return id;
        }, DataTypes.LongType);

        // The data owner builds the zone's table under a transform grant: CTAS needs nothing more.
        service.grant("etl", List.of("hive:sales.*"), List.of("transform"), "10m", false);
        as("etl", () -> eventually(GRANT_REACHES_SPARK, "etl's CREATE DATABASE",
                () -> spark.sql("CREATE DATABASE IF NOT EXISTS sales")));
        as("etl", () -> spark.sql("CREATE TABLE sales.orders USING parquet AS"
                + " SELECT id, concat('item-', id) AS item, id * 10 AS amount FROM range(0, " + ROWS + ", 1, 4)"));
        as("etl", () -> spark.sql("CREATE TABLE default.open_items USING parquet AS SELECT id FROM range(10)"));
        // A view outside the zone over zone data takes the data out of the zone: defining it
        // reads it, and needs export.
        service.grant("owen", List.of(ORDERS), List.of("read", "export"), "10m", false);
        eventually(GRANT_REACHES_SPARK, "owen's CREATE VIEW", () -> as("owen", () -> spark.sql(
                "CREATE VIEW default.big_orders AS SELECT * FROM sales.orders WHERE amount > 100")));
    }

    @AfterAll
    static void stop() throws Exception {
        if (spark != null) {
            spark.stop();
        }
        if (service != null) {
            service.close();
        }
    }

    private static long count(String user, String sql) throws Exception {
        return as(user, () -> spark.sql(sql).collectAsList().get(0).getLong(0));
    }

    private static String grant(String user, String resource, String action, String duration) throws Exception {
        return service.grant(user, List.of(resource), List.of(action), duration, false);
    }

    @Test
    @Order(1)
    void ctasInZoneNeedsTransformOnlyAndGivesNoRead() throws Exception {
        assertTrue(spark.catalog().tableExists("sales.orders"));
        assertDenial(assertThrows(AnalysisException.class, () -> count("etl", COUNT_ORDERS)),
                "etl", "read", ORDERS);
    }

    @Test
    @Order(2)
    void protectedReadDeniedWithoutGrant() throws Exception {
        assertDenial(assertThrows(AnalysisException.class, () -> count("alice", COUNT_ORDERS)),
                "alice", "read", ORDERS);
        assertDenial(assertThrows(AnalysisException.class, () -> as("alice", () -> spark.table("sales.orders"))),
                "alice", "read", ORDERS);
        // A subquery in an expression is part of the plan.
        assertDenial(assertThrows(AnalysisException.class, () -> count("alice",
                "SELECT count(*) FROM default.open_items WHERE id IN (SELECT id FROM sales.orders)")),
                "alice", "read", ORDERS);
        // Reading through a view outside the zone reads the zone's table.
        assertDenial(assertThrows(AnalysisException.class, () -> count("alice",
                "SELECT count(*) FROM default.big_orders")), "alice", "read", ORDERS);
        // A temporary view is the session's own name, in no catalog: creating one needs no grant.
        as("alice", () -> spark.sql("CREATE TEMPORARY VIEW my_orders AS SELECT * FROM default.open_items"));
        assertEquals(10, count("alice", "SELECT count(*) FROM my_orders"));
    }

    @Test
    @Order(3)
    void dataOutsideZonesNeedsNoGrant() throws Exception {
        assertEquals(10, count("alice", "SELECT count(*) FROM default.open_items"));
        String local = dir.resolve("local-parquet").toUri().toString();
        as("alice", () -> {
            spark.range(7).write().parquet(local);
            return null;
        });
        assertEquals(7, as("alice", () -> spark.read().parquet(local).count()));
    }

    @Test
    @Order(4)
    void approvedGrantAllowsReadOnly() throws Exception {
        long approving = System.nanoTime();
        aliceGrant = grant("alice", ORDERS, "read", "5m");
        long n = eventually(GRANT_REACHES_SPARK, "alice's read after the approval", () -> count("alice", COUNT_ORDERS));
        System.out.printf("jitgate: approve -> first allowed Spark query took %d ms%n",
                (System.nanoTime() - approving) / 1_000_000);
        assertEquals(ROWS, n);
        assertEquals(ROWS, as("alice", () -> spark.table("sales.orders").filter("amount >= 0").count()));
        assertEquals(ROWS - 11, count("alice", "SELECT count(*) FROM default.big_orders"));

        assertDenial(assertThrows(AnalysisException.class, () -> as("alice",
                () -> spark.sql("INSERT INTO sales.orders SELECT id, 'x', 0 FROM range(1)"))),
                "alice", "write", ORDERS);
        assertDenial(assertThrows(AnalysisException.class, () -> as("alice",
                () -> spark.sql("DROP TABLE sales.orders"))), "alice", "transform", ORDERS);
        assertDenial(assertThrows(AnalysisException.class, () -> count("bob", COUNT_ORDERS)),
                "bob", "read", ORDERS);
    }

    @Test
    @Order(5)
    void writingProtectedDataOutsideTheZoneNeedsExport() throws Exception {
        grant("bob", ORDERS, "read", "5m");
        eventually(GRANT_REACHES_SPARK, "bob's read", () -> count("bob", COUNT_ORDERS));

        String out = dir.resolve("export-1").toUri().toString();
        AnalysisException pathWrite = assertThrows(AnalysisException.class, () -> as("bob", () -> {
            spark.table("sales.orders").write().parquet(out);
            return null;
        }));
        assertDenial(pathWrite, "bob", "export", ORDERS);
        assertFalse(Files.exists(dir.resolve("export-1")), "nothing was written");
        assertDenial(assertThrows(AnalysisException.class, () -> as("bob", () -> spark.sql(
                "INSERT OVERWRITE LOCAL DIRECTORY '" + dir.resolve("export-2") + "' USING parquet"
                        + " SELECT * FROM sales.orders"))), "bob", "export", ORDERS);
        assertDenial(assertThrows(AnalysisException.class, () -> as("bob", () -> spark.sql(
                "CREATE TABLE default.copy USING parquet AS SELECT * FROM sales.orders"))), "bob", "export", ORDERS);

        service.grant("bob", List.of(ORDERS), List.of("read", "export"), "5m", false);
        eventually(GRANT_REACHES_SPARK, "bob's export", () -> as("bob", () -> {
            spark.table("sales.orders").write().parquet(out);
            return null;
        }));
        assertEquals(ROWS, as("bob", () -> spark.read().parquet(out).count()));
    }

    @Test
    @Order(6)
    void sqlCannotSwitchJitgateOff() throws Exception {
        for (String sql : new String[] {
            "SET spark.sql.extensions=org.example.Nothing",
            "SET spark.sql.optimizer.excludedRules=org.apache.spark.sql.catalyst.optimizer.PushDownPredicates",
            "SET spark.sql.runSQLOnFiles=true",
            "SET spark.sql.runSQLOnFiles = false",
            "RESET spark.sql.runSQLOnFiles",
            "RESET spark.sql.optimizer.excludedRules",
            "SET spark.sql.legacy.useV1Command=true",
            "SET spark.sql.catalog.mine=org.example.Catalog",
            "SET fs.lake.impl=org.apache.hadoop.hdfs.DistributedFileSystem",
            "SET spark.hadoop.fs.lake.impl=org.apache.hadoop.hdfs.DistributedFileSystem",
        }) {
            AnalysisException e = assertThrows(AnalysisException.class, () -> as("alice", () -> spark.sql(sql)), sql);
            assertTrue(e.getMessage().startsWith("jitgate: ") && e.getMessage().contains("is not allowed"),
                    sql + " -> " + e.getMessage());
        }
        assertEquals("false", spark.conf().get("spark.sql.runSQLOnFiles"), "as the test session started");
        // Showing a key, other keys, and a bare RESET (back to the application's start values) are fine.
        as("alice", () -> spark.sql("SET spark.sql.runSQLOnFiles").collectAsList());
        as("alice", () -> spark.sql("SET spark.sql.shuffle.partitions=3"));
        assertEquals("3", spark.conf().get("spark.sql.shuffle.partitions"));
        as("alice", () -> spark.sql("RESET"));
        assertEquals("2", spark.conf().get("spark.sql.shuffle.partitions"));
        assertEquals("false", spark.conf().get("spark.sql.runSQLOnFiles"));
    }

    @Test
    @Order(7)
    void revokeDeniesNextQuery() throws Exception {
        assertEquals(ROWS, count("alice", COUNT_ORDERS));
        long revoking = System.nanoTime();
        service.revoke(aliceGrant, APPROVER, APPROVERS);
        AnalysisException denied = eventuallyDenied(GRANT_REACHES_SPARK, "alice's denial after the revoke",
                () -> count("alice", COUNT_ORDERS));
        System.out.printf("jitgate: revoke -> first denied Spark query took %d ms%n",
                (System.nanoTime() - revoking) / 1_000_000);
        assertDenial(denied, "alice", "read", ORDERS);
    }

    /**
     * A short grant: allowed while it lasts, denied after; and a Dataset analyzed under the grant
     * but run after it ended is refused as it starts, before its first job.
     */
    @Test
    @Order(8)
    void expiredGrantDeniesAndRefusesALateRun() throws Exception {
        String id = service.request("dave", List.of(ORDERS), List.of("read"), "4s", "a quick look", false);
        JsonNode g = service.approve(id, APPROVER, APPROVERS).path("grant");
        Instant expiresAt = Instant.parse(g.path("expires_at").asText());

        Dataset<Row> late = null;
        while (late == null) {
            try {
                late = as("dave", () -> spark.sql(SLOW_SUM));
            } catch (AnalysisException notYet) {
                if (Instant.now().isAfter(expiresAt)) {
                    fail("the 4 s grant never reached Spark before it expired at " + expiresAt);
                }
                Thread.sleep(25);
            }
        }
        Thread.sleep(Math.max(0, Duration.between(Instant.now(), expiresAt).toMillis()) + 100);
        assertDenial(assertThrows(AnalysisException.class, () -> count("dave", COUNT_ORDERS)),
                "dave", "read", ORDERS);

        Dataset<Row> analyzed = late;
        long start = System.nanoTime();
        Exception refused = assertThrows(Exception.class, () -> as("dave", analyzed::collectAsList));
        System.out.printf("jitgate: a Dataset analyzed under an expired grant was refused %d ms into its run%n",
                (System.nanoTime() - start) / 1_000_000);
        assertDenial(refused, "dave", "read", ORDERS);
    }

    @Test
    @Order(9)
    void revokeCancelsRunningQuery() throws Exception {
        String grantId = grant("erin", ORDERS, "read", "5m");
        eventually(GRANT_REACHES_SPARK, "erin's read", () -> count("erin", COUNT_ORDERS));

        CompletableFuture<List<Row>> query = CompletableFuture.supplyAsync(() -> {
            try {
                return as("erin", () -> spark.sql(SLOW_SUM).collectAsList());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        eventually(Duration.ofSeconds(20), "the slow query's job to run",
                () -> {
                    if (spark.sparkContext().statusTracker().getActiveJobIds().length == 0) {
                        throw new IllegalStateException("no active job yet");
                    }
                    return null;
                });
        Thread.sleep(300);
        assertFalse(query.isDone(), "the query runs for about 10 s");

        long revoking = System.nanoTime();
        service.revoke(grantId, APPROVER, APPROVERS);
        ExecutionException failed = assertThrows(ExecutionException.class, () -> query.get(20, TimeUnit.SECONDS));
        System.out.printf("jitgate: revoke -> running Spark query cancelled took %d ms%n",
                (System.nanoTime() - revoking) / 1_000_000);
        assertCancelledFor(failed, grantId);
    }

    /**
     * The query's context names the application in the audit trail; the check as a query runs adds
     * its SQL execution id to the context of the same query. The denial is there too.
     */
    @Test
    @Order(10)
    void auditTrailCarriesSparkContext() throws Exception {
        String app = "spark.app.id=" + spark.sparkContext().applicationId();
        eventually(AUDIT_REACHES_SERVICE, AUDIT_POLL, "alice's allows (analysed and run) and deny in the audit", () -> {
            List<String> allowed = new ArrayList<>();
            boolean deny = false;
            for (JsonNode e : sparkEvents("alice")) {
                String context = e.path("context").asText();
                assertTrue(context.startsWith(app), e.toString());
                assertFalse(e.path("operation").asText().isEmpty(), e.toString());
                if ("allow".equals(e.path("decision").asText()) && aliceGrant.equals(e.path("grant_id").asText())) {
                    allowed.add(context);
                }
                deny |= "deny".equals(e.path("decision").asText());
            }
            boolean asRun = allowed.stream().anyMatch(c -> c.contains(EXECUTION) && allowed.contains(queryOf(c)));
            if (!asRun || !deny) {
                throw new IllegalStateException("allowed as run=" + asRun + " deny=" + deny + " allowed=" + allowed);
            }
            return null;
        });
    }

    /**
     * One check per plan (and one as it runs): a single-use grant serves a query with a subquery
     * once, then no other query.
     */
    @Test
    @Order(11)
    void singleUseGrantServesOneQuery() throws Exception {
        String sql = "SELECT count(*) FROM sales.orders WHERE id IN (SELECT id FROM sales.orders WHERE amount >= 0)";
        String grantId = service.grant("frank", List.of(ORDERS), List.of("read"), "5m", true);
        assertEquals(ROWS, eventually(GRANT_REACHES_SPARK, "frank's single-use read", () -> count("frank", sql)));
        assertDenial(assertThrows(AnalysisException.class, () -> count("frank", sql)), "frank", "read", ORDERS);

        // The check as the query ran was allowed under the consumed grant, and was the same query.
        eventually(AUDIT_REACHES_SERVICE, AUDIT_POLL, "frank's query allowed as it ran", () -> {
            List<String> allowed = new ArrayList<>();
            for (JsonNode e : sparkEvents("frank")) {
                String context = e.path("context").asText();
                assertFalse(context.contains(EXECUTION) && "deny".equals(e.path("decision").asText()),
                        "a check as the query ran was denied: " + e);
                if ("allow".equals(e.path("decision").asText()) && grantId.equals(e.path("grant_id").asText())) {
                    allowed.add(context);
                }
            }
            if (allowed.stream().noneMatch(c -> c.contains(EXECUTION) && allowed.contains(queryOf(c)))) {
                throw new IllegalStateException("no allow as the query ran yet: " + allowed);
            }
            return null;
        });
    }

    /** The user's audit events from Spark on the zone's table. */
    private static List<JsonNode> sparkEvents(String user) throws Exception {
        List<JsonNode> events = new ArrayList<>();
        for (JsonNode e : service.audit(user, APPROVER, APPROVERS)) {
            if (ORDERS.equals(e.path("resource").asText()) && "spark".equals(e.path("plugin").asText())) {
                events.add(e);
            }
        }
        return events;
    }

    /** The context a query was checked with at analysis, from the context of its check as it ran. */
    private static String queryOf(String context) {
        int at = context.lastIndexOf(EXECUTION);
        return at < 0 ? context : context.substring(0, at);
    }

    private static void assertCancelledFor(Throwable e, String grantId) {
        String expected = "jitgate: grant " + grantId + " was revoked or expired; query cancelled";
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains(expected)) {
                return;
            }
        }
        throw new AssertionError("expected a cancellation naming " + grantId, e);
    }

    /** The same keys cannot be changed from code, and a data source's options cannot carry them. */
    @Test
    @Order(12)
    void codeCannotSwitchJitgateOffEither() throws Exception {
        String[][] changes = {
            {"spark.sql.catalog.mine", "org.example.Catalog"},
            {"spark.hadoop.fs.lake.impl", "org.apache.hadoop.hdfs.DistributedFileSystem"},
            {"fs.lake.impl", "org.apache.hadoop.hdfs.DistributedFileSystem"},
            {"spark.sql.legacy.useV1Command", "true"},
        };
        for (String[] kv : changes) {
            spark.conf().set(kv[0], kv[1]);
            try {
                AnalysisException e = assertThrows(AnalysisException.class,
                        () -> as("alice", () -> spark.sql("SELECT 1").collectAsList()), kv[0]);
                assertTrue(e.getMessage().startsWith("jitgate: " + kv[0] + " was changed in this session"),
                        e.getMessage());
            } finally {
                spark.conf().unset(kv[0]);
            }
        }
        String before = spark.conf().get("spark.sql.runSQLOnFiles");
        spark.conf().unset("spark.sql.runSQLOnFiles");
        try {
            AnalysisException e = assertThrows(AnalysisException.class,
                    () -> as("alice", () -> spark.sql("SELECT 1").collectAsList()), "unset");
            assertTrue(e.getMessage().contains("spark.sql.runSQLOnFiles was changed"), e.getMessage());
        } finally {
            spark.conf().set("spark.sql.runSQLOnFiles", before);
        }
        assertEquals(1, as("alice", () -> spark.sql("SELECT 1").collectAsList()).size(), "as the application set it");

        Path data = Files.createTempDirectory("jitgate-options");
        as("alice", () -> {
            spark.range(1).write().mode("overwrite").parquet(data.toUri().toString());
            return null;
        });
        AnalysisException option = assertThrows(AnalysisException.class, () -> as("alice", () -> spark.read()
                .option("fs.lake.impl", "org.apache.hadoop.hdfs.DistributedFileSystem")
                .parquet(data.toUri().toString()).collectAsList()));
        assertTrue(option.getMessage().startsWith("jitgate: the option fs.lake.impl is not allowed"),
                option.getMessage());
    }

    /** CREATE TABLE ... LIKE reads its source's definition: read on the source, transform where it creates. */
    @Test
    @Order(13)
    void createTableLikeReadsItsSource() throws Exception {
        grant("lina", "hive:sales.*", "transform", "5m");
        String like = "CREATE TABLE sales.orders_shape LIKE sales.orders";
        AnalysisException e = eventuallyDenied(Duration.ofSeconds(10), "lina's CREATE TABLE LIKE",
                () -> as("lina", () -> spark.sql(like)));
        assertDenial(e, "lina", "read", ORDERS);
        assertFalse(spark.catalog().tableExists("sales.orders_shape"));
        grant("lina", ORDERS, "read", "5m");
        eventually(Duration.ofSeconds(10), "lina's CREATE TABLE LIKE with read", () -> as("lina", () -> spark.sql(like)));
        assertTrue(spark.catalog().tableExists("sales.orders_shape"));
    }

    /**
     * Rows that leave by a way jitgate cannot name need export: a stream's sink (memory,
     * console, Kafka, foreach) and a TRANSFORM script. A read grant alone let both through.
     */
    @Test
    @Order(14)
    void streamsAndScriptsThatTakeZoneRowsOutNeedExport() throws Exception {
        grant("sam", ORDERS, "read", "5m");
        eventually(GRANT_REACHES_SPARK, "sam's read", () -> count("sam", COUNT_ORDERS));
        Exception stream = assertThrows(Exception.class, () -> as("sam", () -> spark.readStream().table("sales.orders")
                .writeStream().format("memory").queryName("leak").start()));
        assertDenial(stream, "sam", "read and export", ORDERS);
        assertTrue(spark.streams().active().length == 0, "no stream started");
        Exception script = assertThrows(Exception.class, () -> as("sam", () -> spark.sql(
                "SELECT TRANSFORM(id) USING 'cat' AS (x) FROM sales.orders").collectAsList()));
        assertDenial(script, "sam", "read and export", ORDERS);

        grant("sam", ORDERS, "export", "5m");
        eventually(GRANT_REACHES_SPARK, "sam's export", () -> as("sam", () -> spark.sql(
                "SELECT TRANSFORM(id) USING 'cat' AS (x) FROM sales.orders LIMIT 3").collectAsList()));
    }

    /**
     * CTAS is decided whole before it runs, the directory it writes included: here the zone's
     * tables are stored on the local filesystem, outside the zone, so copying zone rows into a
     * new one needs export. The insert it runs used to be decided apart, after the command started.
     */
    @Test
    @Order(15)
    void ctasIsDecidedWithTheDirectoryItWrites() throws Exception {
        service.grant("tara", List.of(ORDERS, "hive:sales.*"), List.of("read", "transform"), "5m", false);
        String ctas = "CREATE TABLE sales.orders_summary USING parquet AS SELECT item, amount FROM sales.orders"
                + " WHERE id < 10";
        AnalysisException denied = eventuallyDenied(GRANT_REACHES_SPARK, "tara's CTAS",
                () -> as("tara", () -> spark.sql(ctas)));
        assertDenial(denied, "tara", "read and export", ORDERS);
        assertTrue(denied.getMessage().lines().skip(1).findFirst().orElse("").startsWith(
                "CreateDataSourceTableAsSelectCommand"), "decided on the statement: " + denied.getMessage());
        assertFalse(spark.catalog().tableExists("sales.orders_summary"));
        assertFalse(Files.exists(dir.resolve("warehouse/sales.db/orders_summary")));

        grant("tara", ORDERS, "export", "5m");
        eventually(GRANT_REACHES_SPARK, "tara's CTAS with export", () -> as("tara", () -> spark.sql(ctas)));
        assertEquals(10, count("tara", "SELECT count(*) FROM sales.orders_summary"));
    }

    /**
     * A V2 catalog (JDBC) is read and written like any other place outside every zone: zone rows
     * written there need export. The check once recursed into the execution it was analyzing
     * (StackOverflowError) and the denial then failed with "Can't overwrite cause".
     */
    @Test
    @Order(16)
    void aV2CatalogIsAPlaceOutsideTheZone() throws Exception {
        as("etl", () -> spark.sql("CREATE TABLE lakejdbc.APP.order_ids (id BIGINT)"));
        grant("vera", ORDERS, "read", "5m");
        eventually(GRANT_REACHES_SPARK, "vera's read", () -> count("vera", COUNT_ORDERS));
        String copy = "INSERT INTO lakejdbc.APP.order_ids SELECT id FROM sales.orders WHERE id < 5";
        Exception denied = assertThrows(Exception.class, () -> as("vera", () -> spark.sql(copy)));
        assertDenial(denied, "vera", "read and export", ORDERS);
        assertEquals(0, count("vera", "SELECT count(*) FROM lakejdbc.APP.order_ids"));

        grant("vera", ORDERS, "export", "5m");
        eventually(GRANT_REACHES_SPARK, "vera's copy with export", () -> as("vera", () -> spark.sql(copy)));
        assertEquals(5, count("vera", "SELECT count(*) FROM lakejdbc.APP.order_ids"));
    }

    /** Named like the frame Spark's subquery check runs in; the check used to be skipped under it. */
    private static long checkSubqueryExpressionLookalike(String user, String sql) throws Exception {
        return count(user, sql);
    }

    /** No caller's name switches the check off: it once skipped any plan checked under a frame named so. */
    @Test
    @Order(17)
    void noStackFrameSkipsTheCheck() throws Exception {
        assertDenial(assertThrows(AnalysisException.class,
                () -> checkSubqueryExpressionLookalike("mallory", COUNT_ORDERS)), "mallory", "read", ORDERS);
    }

    /**
     * One rule for views, decided in the core: a grant on a view in the zone covers reading
     * through it to its base table in the same zone; a view outside the zone covers nothing, and
     * a temporary view is no resource at all.
     */
    @Test
    @Order(18)
    void aZoneViewsGrantCoversItsBaseTablesInTheZoneOnly() throws Exception {
        // Defining a view reads its query, in the zone as outside it.
        grant("etl2", "hive:sales.*", "transform", "5m");
        String define = "CREATE VIEW sales.cheap_orders AS SELECT id, amount FROM sales.orders WHERE amount < 100";
        assertDenial(eventuallyDenied(GRANT_REACHES_SPARK, "etl2's CREATE VIEW without read",
                () -> as("etl2", () -> spark.sql(define))), "etl2", "read", ORDERS);
        grant("etl2", ORDERS, "read", "5m");
        eventually(GRANT_REACHES_SPARK, "etl2's CREATE VIEW", () -> as("etl2", () -> spark.sql(define)));
        // A view outside the zone over zone data is refused without read and export on it.
        assertDenial(assertThrows(AnalysisException.class, () -> as("mallory", () -> spark.sql(
                "CREATE VIEW default.peek AS SELECT * FROM sales.orders"))), "mallory", "read and export", ORDERS);
        assertFalse(spark.catalog().tableExists("default.peek"));
        grant("vic", "hive:sales.cheap_orders", "read", "5m");
        assertEquals(10L, (long) eventually(GRANT_REACHES_SPARK, "vic's read through the zone's view",
                () -> count("vic", "SELECT count(*) FROM sales.cheap_orders")));
        assertDenial(assertThrows(AnalysisException.class, () -> count("vic", COUNT_ORDERS)), "vic", "read", ORDERS);
        assertDenial(assertThrows(AnalysisException.class,
                () -> count("vic", "SELECT count(*) FROM default.big_orders")), "vic", "read", ORDERS);
        assertDenial(assertThrows(AnalysisException.class, () -> as("vic", () -> {
            spark.sql("CREATE OR REPLACE TEMPORARY VIEW mine AS SELECT * FROM sales.orders");
            return spark.sql("SELECT count(*) FROM mine").collectAsList();
        })), "vic", "read", ORDERS);
    }

    /**
     * A Dataset analyzed under a grant and run after the grant ended is refused before its first
     * job, however short: the check as it runs is on the running thread. Before, it came from the
     * listener bus, and a job that ended before its start event arrived was never checked.
     */
    @Test
    @Order(19)
    void aShortRunAfterItsGrantEndedIsRefusedBeforeItRuns() throws Exception {
        String grantId = grant("gus", ORDERS, "read", "5m");
        eventually(GRANT_REACHES_SPARK, "gus's read", () -> count("gus", COUNT_ORDERS));
        List<Dataset<Row>> analyzed = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String sql = COUNT_ORDERS + " WHERE id >= " + i;
            analyzed.add(as("gus", () -> spark.sql(sql)));
        }
        service.revoke(grantId, APPROVER, APPROVERS);
        eventuallyDenied(GRANT_REACHES_SPARK, "the revocation reaching Spark", () -> count("gus", COUNT_ORDERS));
        for (Dataset<Row> late : analyzed) {
            Exception refused = assertThrows(Exception.class, () -> as("gus", late::collectAsList),
                    "a short run after the grant ended");
            assertDenial(refused, "gus", "read", ORDERS);
        }
    }

    /**
     * A common table expression reads what its definition reads: the analyzed plan keeps the CTE
     * (a CTERelationRef leaf where it is used), and Spark inlines it before the check rule sees
     * the plan, on 3.5 and 4.0 alike (PlanNodesTest counts on it).
     */
    @Test
    @Order(20)
    void aCommonTableExpressionReadsWhatItsDefinitionReads() throws Exception {
        String cte = "WITH o AS (SELECT * FROM sales.orders) SELECT count(*) FROM o JOIN o p USING (id)";
        assertDenial(assertThrows(AnalysisException.class, () -> count("hana", cte)), "hana", "read", ORDERS);
        grant("hana", ORDERS, "read", "5m");
        assertEquals(ROWS, eventually(GRANT_REACHES_SPARK, "hana's CTE", () -> count("hana", cte)));
        assertEquals(10L, count("hana", "WITH i AS (SELECT id FROM default.open_items) SELECT count(*) FROM i"));
    }
}
