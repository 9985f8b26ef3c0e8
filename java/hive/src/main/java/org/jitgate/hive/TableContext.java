package org.jitgate.hive;

import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.metastore.IMetaStoreClient;
import org.apache.hadoop.hive.metastore.api.Database;
import org.apache.hadoop.hive.metastore.api.NoSuchObjectException;
import org.apache.hadoop.hive.metastore.api.Table;
import org.apache.hadoop.hive.ql.metadata.Hive;
import org.jitgate.ContextReporter;
import org.jitgate.JitGate;
import org.jitgate.ResourceContext;

/**
 * What a {@code hive:} resource is, for approvers ({@link ContextReporter}): a table's type and
 * location ({@code hive:db.table}) or a database's ({@code hive:db}), read from the metastore
 * HiveServer2 uses, as HiveServer2. One reporter per HiveServer2, started with the first session's
 * engine.
 */
final class TableContext implements ContextReporter.Describer {
    private static ContextReporter reporter;
    private static JitGate reportingFor;

    private final HiveConf conf;

    private TableContext(HiveConf conf) {
        this.conf = conf;
    }

    /** Reports for {@code engine} from now on, unless already doing so (the engine is the JVM's). */
    static synchronized void startOnce(HiveConf conf, JitGate engine) {
        if (reportingFor == engine) {
            return;
        }
        if (reporter != null) {
            reporter.close();
        }
        reportingFor = engine;
        reporter = ContextReporter.start(engine, "hive", conf.get(ContextReporter.intervalKey("hive")),
                new TableContext(new HiveConf(conf)));
    }

    @Override
    public ResourceContext describe(String resource) throws Exception {
        if (!resource.startsWith("hive:")) {
            throw new IllegalArgumentException("not a hive: resource");
        }
        String name = resource.substring("hive:".length());
        int dot = name.indexOf('.');
        // The reporter's own thread: its metastore client is this thread's, kept between rounds.
        IMetaStoreClient metastore = Hive.getWithoutRegisterFns(conf).getMSC();
        try {
            if (dot < 0) {
                Database db = metastore.getDatabase(name);
                return ResourceContext.located("database", db.getLocationUri());
            }
            Table t = metastore.getTable(name.substring(0, dot), name.substring(dot + 1));
            String location = t.getSd() == null ? null : t.getSd().getLocation();
            return ResourceContext.located(t.getTableType(), location);
        } catch (NoSuchObjectException e) {
            throw new NoSuchObjectException(dot < 0 ? "no such database" : "no such table");
        }
    }
}
