package org.jitgate.hive;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hive.service.server.HiveServer2;

/**
 * A real HiveServer2 inside the test JVM: Thrift binary transport on a free loopback port, an
 * embedded Derby metastore and the warehouse under the test's directory, MapReduce in local mode.
 * Clients connect through the Hive JDBC driver as any user (authentication NONE, no doAs), so
 * the authorizer sees the user the JDBC connection names.
 *
 * <p>The settings are written to a hive-site.xml that every {@code new HiveConf()} of this JVM
 * reads: Hive creates several confs of its own (materialized view registry, metastore client),
 * and each must see the same metastore.
 */
final class InProcessHiveServer implements AutoCloseable {
    private final HiveServer2 server;
    private final int port;

    private InProcessHiveServer(HiveServer2 server, int port) {
        this.server = server;
        this.port = port;
    }

    static InProcessHiveServer start(Path dir, Map<String, String> extra) throws Exception {
        int port = freePort();
        Map<String, String> site = new LinkedHashMap<>();
        site.put("hive.server2.thrift.port", String.valueOf(port));
        site.put("hive.server2.thrift.bind.host", "127.0.0.1");
        site.put("hive.server2.transport.mode", "binary");
        site.put("hive.server2.authentication", "NONE");
        site.put("hive.server2.enable.doAs", "false");
        site.put("hive.server2.webui.port", "0");
        site.put("hive.server2.metrics.enabled", "false");
        site.put("hive.server2.materializedviews.registry.impl", "DUMMY");
        site.put("hive.server2.active.passive.ha.enable", "false");
        site.put("hive.server2.support.dynamic.service.discovery", "false");
        site.put("hive.metastore.uris", "");
        site.put("javax.jdo.option.ConnectionURL",
                "jdbc:derby:;databaseName=" + dir.resolve("metastore_db") + ";create=true");
        site.put("hive.metastore.warehouse.dir", dir.resolve("warehouse").toUri().toString());
        site.put("hive.metastore.warehouse.external.dir", dir.resolve("external").toUri().toString());
        site.put("hive.metastore.schema.verification", "false");
        site.put("datanucleus.schema.autoCreateAll", "true");
        site.put("hive.exec.scratchdir", dir.resolve("scratch").toString());
        site.put("hive.exec.local.scratchdir", dir.resolve("local-scratch").toString());
        site.put("hive.downloaded.resources.dir", dir.resolve("resources").toString());
        site.put("hive.querylog.location", dir.resolve("querylog").toString());
        site.put("hive.server2.logging.operation.enabled", "false");
        site.put("hive.execution.engine", "mr");
        site.put("mapreduce.framework.name", "local");
        site.put("fs.defaultFS", "file:///");
        site.put("hive.stats.autogather", "false");
        site.put("hive.stats.column.autogather", "false");
        site.put("hive.support.concurrency", "false");
        site.put("hive.txn.manager", "org.apache.hadoop.hive.ql.lockmgr.DummyTxnManager");
        site.put("hive.create.as.acid", "false");
        site.put("hive.create.as.insert.only", "false");
        site.put("metastore.create.as.acid", "false");
        site.put("hive.strict.managed.tables", "false");
        site.put("hive.scheduled.queries.executor.enabled", "false");
        site.put("hive.query.results.cache.enabled", "false");
        site.put("hive.async.log.enabled", "false");
        site.putAll(extra);

        Files.createDirectories(dir);
        Path hiveSite = dir.resolve("hive-site.xml");
        Files.writeString(hiveSite, siteXml(site));
        System.setProperty("derby.stream.error.file", dir.resolve("derby.log").toString());
        HiveConf.setHiveSiteLocation(hiveSite.toUri().toURL());

        HiveServer2 server = new HiveServer2();
        server.init(new HiveConf());
        server.start();
        InProcessHiveServer hs2 = new InProcessHiveServer(server, port);
        hs2.awaitReady();
        return hs2;
    }

    /** A JDBC connection as {@code user}; the caller closes it. */
    Connection connect(String user) throws SQLException {
        return DriverManager.getConnection(url(), user, "");
    }

    String url() {
        return "jdbc:hive2://127.0.0.1:" + port + "/default";
    }

    private void awaitReady() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try (Connection ignored = connect("hive")) {
                return;
            } catch (SQLException notYet) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("HiveServer2 did not accept connections within 60 s", notYet);
                }
                Thread.sleep(100);
            }
        }
    }

    @Override
    public void close() {
        server.stop();
    }

    private static String siteXml(Map<String, String> site) {
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\"?>\n<configuration>\n");
        site.forEach((k, v) -> xml.append("  <property><name>").append(k).append("</name><value>")
                .append(v.replace("&", "&amp;").replace("<", "&lt;")).append("</value></property>\n"));
        return xml.append("</configuration>\n").toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
