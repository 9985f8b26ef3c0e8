package org.jitgate.spark;

import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.catalyst.analysis.PersistedView$;
import org.apache.spark.sql.catalyst.analysis.ResolvedIdentifier;
import org.apache.spark.sql.catalyst.analysis.ResolvedNamespace;
import org.apache.spark.sql.catalyst.analysis.ResolvedPersistentView;
import org.apache.spark.sql.catalyst.analysis.ResolvedTable;
import org.apache.spark.sql.catalyst.catalog.CatalogStorageFormat;
import org.apache.spark.sql.catalyst.catalog.CatalogTable;
import org.apache.spark.sql.catalyst.catalog.HiveTableRelation;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.DeleteFromTable;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.MergeIntoTable;
import org.apache.spark.sql.catalyst.plans.logical.SubqueryAlias;
import org.apache.spark.sql.catalyst.plans.logical.UpdateTable;
import org.apache.spark.sql.catalyst.plans.logical.View;
import org.apache.spark.sql.execution.command.CreateTableLikeCommand;
import org.apache.spark.sql.execution.command.CreateViewCommand;
import org.apache.spark.sql.execution.command.LoadDataCommand;
import org.apache.spark.sql.execution.datasources.DataSource;
import org.apache.spark.sql.execution.datasources.FileIndex;
import org.apache.spark.sql.execution.datasources.HadoopFsRelation;
import org.apache.spark.sql.execution.datasources.LogicalRelation;
import org.apache.spark.sql.execution.datasources.SaveIntoDataSourceCommand;
import org.apache.spark.sql.execution.datasources.v2.DataSourceV2Relation;
import org.apache.spark.sql.execution.datasources.v2.FileTable;
import org.jitgate.Access;
import org.jitgate.Action;
import org.jitgate.JitGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * What an analyzed plan touches, as {@link Access}es for one {@link JitGate#check}.
 *
 * <p>The actions come from the core's mapping table ({@code src/mapping/spark.tsv}), looked up by
 * the plan node's simple class name: a relation reads its table or paths with the row's input
 * actions; a command changes its targets with the row's output actions and, where the row has input
 * actions, reads its source (LOAD DATA's path) or else its targets with them. A command that is not
 * in the table touches its targets with no action, which the core denies inside a zone.
 *
 * <p>The walk covers children, inner children (the query of a CTAS, of a data source write, of
 * INSERT OVERWRITE DIRECTORY) and subqueries in expressions. A view's definition is not read when
 * the view is created: a view holds no data, and reading through it reads its tables.
 */
final class PlanAccesses {
    static final String ENGINE = "spark";
    /** Destinations Spark does not name (a JDBC table, a sink): outside every zone, so protected input needs export. */
    static final String UNNAMED_SCHEME = "spark-command:";

    private static final Logger LOG = LoggerFactory.getLogger(PlanAccesses.class);
    private static final Set<String> UNMAPPED_LOGGED = ConcurrentHashMap.newKeySet();
    /** Commands that copy the files they name to the driver and executors. */
    private static final Set<String> ADD_RESOURCES = Set.of("AddFilesCommand", "AddJarsCommand", "AddArchivesCommand");
    /** The FIELDS of each command's row, read once: which plain-string fields name what it touches. */
    private static final Map<String, Map<String, String>> FIELDS = new ConcurrentHashMap<>();
    /** CREATE TABLE ... AS SELECT into the session catalog. */
    private static final Set<String> CTAS = Set.of("CreateDataSourceTableAsSelectCommand",
            "CreateHiveTableAsSelectCommand", "OptimizedCreateHiveTableAsSelectCommand");
    /** A streaming query's plan as it starts: its sink and checkpoint are what it writes. */
    private static final Set<String> STREAM_WRITES = Set.of("WriteToStream", "WriteToStreamStatement");
    private static final Set<String> VIEW_DEFINITIONS = Set.of(
            "CreateViewCommand", "AlterViewAsCommand", "CreateView", "AlterViewAs");

    private final Supplier<String> currentDatabase;
    private final Supplier<URI> defaultFs;
    private final Map<Key, Entry> entries = new LinkedHashMap<>();
    private final Set<LogicalPlan> seen = Collections.newSetFromMap(new IdentityHashMap<>());

    /** One resource in one direction; {@code cover} is the table whose storage a path is, else the resource. */
    private record Key(String resource, boolean output) {
    }

    private static final class Entry {
        final String resource;
        final boolean output;
        final String cover;
        int actions;
        /** The nearest persistent view the input is read through; null when (also) read directly. */
        String via;

        Entry(String resource, boolean output, String cover, int actions, String via) {
            this.resource = resource;
            this.output = output;
            this.cover = cover;
            this.actions = actions;
            this.via = via;
        }
    }

    /**
     * Whether a view definition defines a temporary view, the session's own name. A persistent
     * view's query is read as the view is defined (or redefined): a view outside a zone over zone
     * tables needs read and export on them, as in Hive, and a view in a zone read on its tables.
     */
    private static boolean temporaryView(LogicalPlan node) {
        return node instanceof CreateViewCommand v && v.viewType() != PersistedView$.MODULE$;
    }

    /** A resource a node names, and the table it is the storage of (or itself). */
    private record Named(String resource, String cover) {
    }

    /**
     * What the session catalog knows of the tables plans name: their storage (and their
     * partitions'), which a command naming the table touches too.
     */
    interface Catalog {
        /** The table, or null when it does not exist (yet). */
        CatalogTable table(TableIdentifier id);

        /** The locations of the table's existing partitions that match {@code spec} (which may be partial). */
        List<URI> partitions(TableIdentifier id, scala.collection.immutable.Map<String, String> spec);

        /** Where the catalog puts a new managed table's files, or null when it cannot say. */
        URI defaultLocation(TableIdentifier id);

        Catalog NONE = new Catalog() {
            @Override
            public CatalogTable table(TableIdentifier id) {
                return null;
            }

            @Override
            public List<URI> partitions(TableIdentifier id, scala.collection.immutable.Map<String, String> spec) {
                return List.of();
            }

            @Override
            public URI defaultLocation(TableIdentifier id) {
                return null;
            }
        };
    }

    private final Catalog catalog;
    /** More catalogs over the session's Hive metastore, whose tables are {@code hive:} tables. */
    private final Set<String> metastoreCatalogs;

    /** The default filesystem's working directory (the user's home): where a relative path lies. */
    private final Supplier<String> workingDir;

    private PlanAccesses(Supplier<String> currentDatabase, Supplier<URI> defaultFs, Supplier<String> workingDir,
                         Catalog catalog, Set<String> metastoreCatalogs) {
        this.currentDatabase = currentDatabase;
        this.defaultFs = defaultFs;
        this.workingDir = workingDir;
        this.catalog = catalog;
        this.metastoreCatalogs = metastoreCatalogs;
    }

    static PlanAccesses of(LogicalPlan plan, Supplier<String> currentDatabase, Supplier<URI> defaultFs) {
        return of(plan, currentDatabase, defaultFs, () -> null, Catalog.NONE, Set.of());
    }

    static PlanAccesses of(LogicalPlan plan, Supplier<String> currentDatabase, Supplier<URI> defaultFs,
                           Supplier<String> workingDir, Catalog catalog, Set<String> metastoreCatalogs) {
        PlanAccesses out = new PlanAccesses(currentDatabase, defaultFs, workingDir, catalog, metastoreCatalogs);
        out.visit(plan, null);
        return out;
    }

    /**
     * The accesses for the core. Inputs from places outside every zone (local files, other
     * catalogs, object stores) are left out: they cannot be protected, and the core refuses input
     * resources it cannot parse. Outputs there stay: they make protected inputs need export.
     */
    List<Access> accesses() {
        List<Access> out = new ArrayList<>(entries.size());
        for (Entry e : entries.values()) {
            out.add(new Access(e.resource, e.actions, e.output, e.via));
        }
        return out;
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    /**
     * True when every access of this plan is to a resource (or the storage of a table) that
     * {@code outer} touches in the same direction, or that it reads what {@code outer} changes: a
     * plan a command builds while it runs (the insert of a CTAS, the refresh of a table after
     * TRUNCATE or LOAD DATA) is then covered by the command's decision, which was taken before
     * the command changed anything. Its rows go nowhere but where the command said.
     */
    boolean coveredBy(PlanAccesses outer) {
        for (Entry e : entries.values()) {
            boolean covered = false;
            for (Entry o : outer.entries.values()) {
                if ((o.output == e.output || !e.output)
                        && (o.resource.equals(e.resource) || o.cover.equals(e.cover))) {
                    covered = true;
                    break;
                }
            }
            if (!covered) {
                return false;
            }
        }
        return true;
    }

    /** {@code via}: the nearest persistent view {@code node} is read through, or null. */
    private void visit(LogicalPlan node, String via) {
        if (node == null || !seen.add(node)) {
            return;
        }
        String name = nodeName(node);
        if (via == null) {
            via = viewBody(node);
        }
        String inner = via;
        if (isRelation(node)) {
            int[] row = JitGate.mapping(ENGINE, name);
            int actions = row == null ? 0 : row[0];
            if (row == null) {
                logUnmapped(name);
            }
            List<Named> read = relation(node);
            for (Named n : read) {
                add(n, false, actions, via);
            }
            if (node instanceof View) {
                inner = read.get(0).resource(); // what lies under a view is read through it
            }
        } else if (node instanceof Command) {
            command(node, name);
        } else {
            int[] row = JitGate.mapping(ENGINE, name);
            if (row != null && row[1] != 0) {
                command(node, name); // not a Command, yet it sends rows somewhere: a stream's sink, a script
            } else if (node.children().isEmpty()) {
                leaf(node, name, row);
            }
        }
        if (VIEW_DEFINITIONS.contains(name) && temporaryView(node)) {
            return; // a temporary view's query is read where the view is used, not here
        }
        for (scala.collection.Iterator<LogicalPlan> it = node.children().iterator(); it.hasNext(); ) {
            visit(it.next(), inner);
        }
        for (scala.collection.Iterator<?> it = node.innerChildren().iterator(); it.hasNext(); ) {
            if (it.next() instanceof LogicalPlan p) {
                visit(p, inner);
            }
        }
        for (scala.collection.Iterator<LogicalPlan> it = node.subqueries().iterator(); it.hasNext(); ) {
            visit(it.next(), inner);
        }
    }

    /**
     * A leaf that is neither a table nor a command: where rows come from. A leaf the table lists
     * with no input actions holds its rows itself (a literal table, a range, rows a command
     * returned); one with input actions reads a stream source. Any other leaf reads from a place
     * jitgate cannot name, so the plan is refused, wherever it reads from.
     */
    private void leaf(LogicalPlan node, String name, int[] row) {
        if (name.startsWith("Resolved")) {
            return; // a name a command resolved (its target, read by targets()), not rows
        }
        if (row == null) {
            logUnmapped(name);
            throw Denials.raise(Denials.of("jitgate: the plan node " + name + " reads from a place jitgate cannot"
                    + " name (it has no row in the spark mapping table), so the query is refused"));
        }
        if (row[0] == 0) {
            return;
        }
        List<Named> out = new ArrayList<>(2);
        if (node instanceof org.apache.spark.sql.execution.streaming.StreamingRelation r) {
            DataSource source = r.dataSource();
            ConfigGuard.refuseOptions(source.options().keys());
            if (source.catalogTable().isDefined()) {
                table(source.catalogTable().get(), out);
            }
            for (scala.collection.Iterator<String> it = source.paths().iterator(); it.hasNext(); ) {
                out.add(path(new Path(it.next()).toUri(), null));
            }
            Option<String> path = source.options().get("path");
            if (path.isDefined()) {
                out.add(path(new Path(path.get()).toUri(), null));
            }
        } else if (node instanceof org.apache.spark.sql.catalyst.streaming.StreamingRelationV2 r) {
            ConfigGuard.refuseOptions(r.extraOptions().keySet());
            if (r.identifier().isDefined()) {
                String table = SparkResources.table(r.catalog().isDefined() ? r.catalog().get() : null,
                        r.identifier().get(), metastoreCatalogs);
                out.add(new Named(table, table));
            }
            String path = r.extraOptions().get("path");
            if (path != null) {
                out.add(path(new Path(path).toUri(), null));
            }
        } else {
            throw new IllegalStateException("jitgate knows no source of " + name);
        }
        // A source outside every table and path (a Kafka topic, a socket) is outside every zone.
        addAll(out, false, row[0]);
    }

    /**
     * The persistent view whose body {@code node} belongs to, when Spark checks that body alone
     * (it does, once it has resolved a view, before the plan that holds the view): Spark parses a
     * view's text under an origin naming the view, and nodes resolved from it keep it. The view
     * itself is then read too, so its grant is what covers the body's tables of its own zone.
     */
    private String viewBody(LogicalPlan node) {
        org.apache.spark.sql.catalyst.trees.Origin origin = node.origin();
        if (!origin.objectType().isDefined() || !"VIEW".equals(origin.objectType().get())
                || !origin.objectName().isDefined()) {
            return null;
        }
        String[] parts = origin.objectName().get().replace("`", "").split("\\.");
        if (parts.length < 2) {
            return null;
        }
        String view = SparkResources.table(parts[parts.length - 2], parts[parts.length - 1]);
        int[] row = JitGate.mapping(ENGINE, "View");
        add(new Named(view, view), false, row == null ? 0 : row[0], null);
        return view;
    }

    private void command(LogicalPlan node, String name) {
        int[] row = JitGate.mapping(ENGINE, name);
        if (row != null && row[0] == 0 && row[1] == 0) {
            return;
        }
        List<Named> targets = targets(node);
        if (row == null) {
            logUnmapped(name);
            if (targets.isEmpty()) {
                // it may touch a zone, and what it names cannot be read: refused wherever it acts
                throw Denials.raise(Denials.of("jitgate: the command " + name + " has no row in the spark mapping"
                        + " table and names nothing jitgate can read, so it is refused"));
            }
            addAll(targets, true, 0); // denied in a zone
            return;
        }
        Map<String, String> fields = fields(name);
        if (fields.containsValue("read") || fields.containsValue("write")) {
            // A command that points a table, a partition or a database at a location: the table
            // or partition reads it from then on (read there), a database makes its new tables'
            // files there (write). What is re-pointed (its files stay where they are) moves to
            // the location: it is the command's source as well as its target, so re-pointing a
            // zone's table out of the zone's storage needs export. Decided before the command
            // runs: a location it has already applied must not be refused by the read after it.
            List<Named> moved = targets.stream().filter(t -> isTable(t.resource())).toList();
            addAll(moved, false, row[1]);
            addAll(moved, true, row[1]);
            fields.forEach((field, role) -> {
                if (role.equals("read") || role.equals("write")) {
                    addAll(locations(node, field), true, role.equals("read") ? Action.READ : Action.WRITE);
                }
            });
            return;
        }
        if (row[0] != 0) {
            List<Named> sources = sources(node);
            addAll(sources == null ? targets : sources, false, row[0]);
        }
        if (row[1] != 0) {
            addAll(targets.isEmpty() ? List.of(unnamed(name)) : targets, true, row[1]);
        }
    }

    /**
     * {@code field=role} of the command's row in the core's table (src/mapping/spark.tsv, FIELDS):
     * which of its fields hold, as plain strings, what it touches.
     */
    private static Map<String, String> fields(String name) {
        return FIELDS.computeIfAbsent(name, n -> {
            String spec = JitGate.fields(ENGINE, n);
            Map<String, String> out = new LinkedHashMap<>();
            if (spec != null && !spec.isEmpty()) {
                for (String pair : spec.split(",")) {
                    int eq = pair.indexOf('=');
                    out.put(pair.substring(0, eq), pair.substring(eq + 1));
                }
            }
            return Map.copyOf(out);
        });
    }

    /** The value of a command's field, by its accessor; an unreadable field fails the check. */
    private static Object field(LogicalPlan cmd, String field) {
        try {
            return cmd.getClass().getMethod(field).invoke(cmd);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("jitgate cannot read the field " + field + " of " + nodeName(cmd), e);
        }
    }

    /** The locations a pointing command names in its field. */
    private List<Named> locations(LogicalPlan cmd, String field) {
        List<Named> out = new ArrayList<>(1);
        locations(field(cmd, field), 0, out);
        return out;
    }

    /**
     * Locations in a pointing command's field: a string, an optional one, the second half of
     * (partition spec, location) pairs, a {@code location} property, a new table's storage, a
     * V2 table spec's or partition spec's {@code location()}.
     */
    private void locations(Object v, int depth, List<Named> out) {
        if (v == null || depth > 3) {
            return;
        }
        if (v instanceof String s) {
            if (!s.isBlank()) {
                out.add(path(new Path(s.trim()).toUri(), null));
            }
        } else if (v instanceof URI u) {
            out.add(path(u, null));
        } else if (v instanceof CatalogTable ct) {
            if (ct.storage().locationUri().isDefined()) {
                out.add(path(ct.storage().locationUri().get(), null));
            }
        } else if (v instanceof Option<?> o) {
            if (o.isDefined()) {
                locations(o.get(), depth + 1, out);
            }
        } else if (v instanceof scala.Tuple2<?, ?> pair) {
            locations(pair._2(), depth + 1, out);
        } else if (v instanceof scala.collection.Map<?, ?> properties) {
            locations(((scala.collection.Map<Object, ?>) properties).get("location"), depth + 1, out);
        } else if (v instanceof scala.collection.Iterable<?> it) {
            for (scala.collection.Iterator<?> i = it.iterator(); i.hasNext(); ) {
                locations(i.next(), depth + 1, out);
            }
        } else {
            try {
                locations(v.getClass().getMethod("location").invoke(v), depth + 1, out);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("jitgate cannot read a location from " + v.getClass().getName(), e);
            }
        }
    }

    /** The locations of the existing partitions a command names (TRUNCATE TABLE t PARTITION ...). */
    private void partitions(LogicalPlan cmd, List<Named> out) {
        for (Map.Entry<String, String> f : fields(nodeName(cmd)).entrySet()) {
            if (f.getValue().equals("partitions")) {
                partitions(cmd, f.getKey(), out);
            }
        }
    }

    private void partitions(LogicalPlan cmd, String field, List<Named> out) {
        Object specs = field(cmd, field);
        if (!(field(cmd, "tableName") instanceof TableIdentifier table)) {
            throw new IllegalStateException("jitgate cannot read the table of " + nodeName(cmd));
        }
        String cover = SparkResources.table(table, currentDatabase.get());
        List<scala.collection.immutable.Map<String, String>> list = new ArrayList<>();
        if (specs instanceof Option<?> o) {
            specs = o.isDefined() ? o.get() : null;
        }
        if (specs instanceof scala.collection.immutable.Map<?, ?> one) {
            list.add((scala.collection.immutable.Map<String, String>) one);
        } else if (specs instanceof scala.collection.Iterable<?> many) {
            for (scala.collection.Iterator<?> i = many.iterator(); i.hasNext(); ) {
                if (i.next() instanceof scala.collection.immutable.Map<?, ?> spec) {
                    list.add((scala.collection.immutable.Map<String, String>) spec);
                }
            }
        }
        for (scala.collection.immutable.Map<String, String> spec : list) {
            for (URI location : catalog.partitions(table, spec)) {
                out.add(path(location, cover));
            }
        }
    }

    private void addAll(List<Named> named, boolean output, int actions) {
        for (Named n : named) {
            add(n, output, actions);
        }
    }

    private void add(Named n, boolean output, int actions) {
        add(n, output, actions, null);
    }

    /**
     * Same resource, same direction: one access; an unmapped use (0) stays 0 so the core denies it
     * in a zone; read through a view only if every read of it is through that view.
     */
    private void add(Named n, boolean output, int actions, String via) {
        if (n.cover().startsWith(SparkResources.OTHER_CATALOG_SCHEME) && !n.cover().equals(n.resource())) {
            // the files of a table of a catalog jitgate cannot name: denied where they lie in a zone
            actions = 0;
        }
        Key key = new Key(n.resource(), output);
        Entry e = entries.get(key);
        if (e == null) {
            entries.put(key, new Entry(n.resource(), output, n.cover(), actions, output ? null : via));
        } else {
            e.actions = e.actions == 0 || actions == 0 ? 0 : e.actions | actions;
            if (e.via != null && !e.via.equals(via)) {
                e.via = null;
            }
        }
    }

    static boolean isRelation(LogicalPlan node) {
        return node instanceof HiveTableRelation
                || node instanceof LogicalRelation
                || node instanceof DataSourceV2Relation
                || (node instanceof View v && !v.isTempView());
    }

    /** The table (and its storage) or the paths a relation reads. */
    private List<Named> relation(LogicalPlan node) {
        List<Named> out = new ArrayList<>(2);
        if (node instanceof HiveTableRelation r) {
            table(r.tableMeta(), out);
        } else if (node instanceof LogicalRelation r) {
            Option<CatalogTable> ct = r.catalogTable();
            if (ct.isDefined()) {
                table(ct.get(), out);
            } else if (r.relation() instanceof HadoopFsRelation fs) {
                paths(fs.location(), null, out);
            }
            if (r.relation() instanceof HadoopFsRelation fs) {
                ConfigGuard.refuseOptions(fs.options().keys());
            }
        } else if (node instanceof DataSourceV2Relation r) {
            ConfigGuard.refuseOptions(r.options().keySet());
            String table = null;
            if (r.table() instanceof org.apache.spark.sql.connector.catalog.V1Table v1) {
                // a metastore table, whichever catalog loaded it
                table = SparkResources.table(v1.v1Table().identifier(), currentDatabase.get());
                out.add(new Named(table, table));
            } else if (r.identifier().isDefined()) {
                table = SparkResources.table(r.catalog().isDefined() ? r.catalog().get() : null, r.identifier().get(),
                        metastoreCatalogs);
                out.add(new Named(table, table));
            }
            location(r.table().properties().get("location"), table, out);
            if (r.table() instanceof FileTable ft) {
                paths(ft.fileIndex(), table, out);
            }
        } else if (node instanceof View v) {
            String view = SparkResources.table(v.desc().identifier(), currentDatabase.get());
            out.add(new Named(view, view));
        }
        return out;
    }

    /**
     * What a command changes, from its fields: catalog tables and their storage, table names,
     * resolved V2 names, locations, and a relation it writes into. Its query (a child or inner
     * child) is not a target: the walk reads it.
     */
    private List<Named> targets(LogicalPlan cmd) {
        Set<LogicalPlan> queries = Collections.newSetFromMap(new IdentityHashMap<>());
        for (scala.collection.Iterator<LogicalPlan> it = cmd.children().iterator(); it.hasNext(); ) {
            queries.add(it.next());
        }
        for (scala.collection.Iterator<?> it = cmd.innerChildren().iterator(); it.hasNext(); ) {
            Object inner = it.next();
            if (inner instanceof LogicalPlan p) {
                queries.add(p);
            }
        }
        List<Named> out = new ArrayList<>(2);
        if (cmd instanceof CreateViewCommand v && v.viewType() != PersistedView$.MODULE$) {
            return out; // a temporary view is the session's own name, in no catalog
        }
        // V1 commands (spark.sql.legacy.useV1Command) name their database as a plain string:
        // without the field they would name nothing, and DROP DATABASE sales CASCADE would be
        // a command with no target.
        for (Map.Entry<String, String> f : fields(nodeName(cmd)).entrySet()) {
            if (f.getValue().equals("database")) {
                String db = SparkResources.database(databaseOf(cmd, f.getKey()));
                out.add(new Named(db, db));
            }
        }
        if (cmd instanceof CreateTableLikeCommand like) {
            // the new table (and its location); the table it copies is a source
            String t = SparkResources.table(like.targetTable(), currentDatabase.get());
            out.add(new Named(t, t));
            scan(like.fileFormat(), 0, queries, out);
            return out;
        }
        // Row-level commands read and change a target that is also their child.
        if (cmd instanceof DeleteFromTable d) {
            targetRelation(d.table(), out);
        } else if (cmd instanceof UpdateTable u) {
            targetRelation(u.table(), out);
        } else if (cmd instanceof MergeIntoTable m) {
            targetRelation(m.targetTable(), out);
        } else if (STREAM_WRITES.contains(nodeName(cmd))) {
            streamSink(cmd, out);
        } else if (cmd instanceof SaveIntoDataSourceCommand s) {
            ConfigGuard.refuseOptions(s.options().keys());
            Option<String> path = s.options().get("path");
            if (path.isDefined()) {
                out.add(path(new Path(path.get()).toUri(), null));
            }
        }
        for (scala.collection.Iterator<Object> it = cmd.productIterator(); it.hasNext(); ) {
            scan(it.next(), 0, queries, out);
        }
        partitions(cmd, out);
        newTableStorage(cmd, out);
        // A command that writes a catalog table writes its paths as that table's storage.
        String table = null;
        for (Named n : out) {
            if (n.resource().startsWith("hive:") || n.resource().startsWith(SparkResources.OTHER_CATALOG_SCHEME)) {
                table = n.resource();
                break;
            }
        }
        List<Named> distinct = new ArrayList<>(out.size());
        for (Named n : out) {
            Named owned = table != null && n.cover().equals(n.resource()) && !isTable(n.resource())
                    ? new Named(n.resource(), table) : n;
            if (!distinct.contains(owned)) {
                distinct.add(owned);
            }
        }
        return distinct;
    }

    /**
     * Where a streaming query writes besides a catalog table: its checkpoint directory, and a file
     * sink's directory. Any other sink (console, memory, Kafka, foreach) is not named: the
     * command's output is then outside every zone.
     */
    private void streamSink(LogicalPlan cmd, List<Named> out) {
        try {
            for (String field : new String[] {"resolvedCheckpointLocation", "userSpecifiedCheckpointLocation"}) {
                java.lang.reflect.Method m;
                try {
                    m = cmd.getClass().getMethod(field);
                } catch (NoSuchMethodException absent) {
                    continue;
                }
                Object location = m.invoke(cmd);
                if (location instanceof Option<?> o) {
                    location = o.isDefined() ? o.get() : null;
                }
                if (location instanceof String dir && !dir.isBlank()) {
                    out.add(path(new Path(dir).toUri(), null));
                }
            }
            Object sink = cmd.getClass().getMethod("sink").invoke(cmd);
            if (sink instanceof org.apache.spark.sql.execution.streaming.FileStreamSink) {
                java.lang.reflect.Field path = sink.getClass().getDeclaredField("path");
                path.setAccessible(true);
                out.add(path(new Path((String) path.get(sink)).toUri(), null));
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("jitgate cannot read where " + nodeName(cmd) + " writes", e);
        }
    }

    /**
     * A CTAS without LOCATION writes its rows where the catalog puts a new table: that directory
     * is a target too, so the insert the command runs is covered by the command's decision (it
     * was decided apart, and refused, when it wrote into a zone's storage), and rows written to
     * storage outside their zone need export before anything runs.
     */
    private void newTableStorage(LogicalPlan cmd, List<Named> out) {
        if (!CTAS.contains(nodeName(cmd))) {
            return;
        }
        for (scala.collection.Iterator<Object> it = cmd.productIterator(); it.hasNext(); ) {
            if (it.next() instanceof CatalogTable ct && ct.storage().locationUri().isEmpty()) {
                String table = SparkResources.table(ct.identifier(), currentDatabase.get());
                URI location = catalog.defaultLocation(ct.identifier());
                if (location != null) {
                    out.add(path(location, table));
                }
            }
        }
    }

    /** The database a command's field names: a String, or an Option (absent: the current one). */
    private String databaseOf(LogicalPlan cmd, String field) {
        Object db = field(cmd, field);
        if (db instanceof Option<?> o) {
            db = o.isDefined() ? o.get() : currentDatabase.get();
        }
        if (!(db instanceof String name) || name.isBlank()) {
            throw new IllegalStateException("jitgate cannot read the database of " + nodeName(cmd));
        }
        return name;
    }

    private static boolean isTable(String resource) {
        return resource.startsWith("hive:") || resource.startsWith(SparkResources.OTHER_CATALOG_SCHEME);
    }

    private void scan(Object v, int depth, Set<LogicalPlan> queries, List<Named> out) {
        if (v == null || depth > 3) {
            return;
        }
        if (v instanceof CatalogTable ct) {
            table(ct, out);
        } else if (v instanceof TableIdentifier id) {
            String t = SparkResources.table(id, currentDatabase.get());
            out.add(new Named(t, t));
            storage(id, t, out);
        } else if (v instanceof CatalogStorageFormat s) {
            if (s.locationUri().isDefined()) {
                out.add(path(s.locationUri().get(), null));
            }
        } else if (v instanceof Path p) {
            out.add(path(p.toUri(), null));
        } else if (v instanceof URI u) {
            out.add(path(u, null));
        } else if (v instanceof FileIndex fi) {
            paths(fi, null, out);
        } else if (v instanceof LogicalPlan p) {
            resolvedName(p, queries, out);
        } else if (v instanceof Option<?> o) {
            if (o.isDefined()) {
                scan(o.get(), depth + 1, queries, out);
            }
        } else if (v instanceof scala.collection.Iterable<?> it && !(v instanceof scala.collection.Map<?, ?>)) {
            for (scala.collection.Iterator<?> i = it.iterator(); i.hasNext(); ) {
                scan(i.next(), depth + 1, queries, out);
            }
        }
    }

    /** A resolved V2 name (a child of DDL commands), or a relation written into (not a child). */
    private void resolvedName(LogicalPlan p, Set<LogicalPlan> queries, List<Named> out) {
        if (p instanceof ResolvedTable t) {
            String table = SparkResources.table(t.catalog(), t.identifier(), metastoreCatalogs);
            out.add(new Named(table, table));
            location(t.table().properties().get("location"), table, out);
        } else if (p instanceof ResolvedIdentifier i) {
            String table = SparkResources.table(i.catalog(), i.identifier(), metastoreCatalogs);
            out.add(new Named(table, table));
            String[] ns = i.identifier().namespace();
            if (table.startsWith("hive:") && ns.length == 1) {
                // DROP TABLE in the session catalog: the existing table's files go too
                storage(new TableIdentifier(i.identifier().name(), Option.apply(ns[0])), table, out);
            }
        } else if (p instanceof ResolvedPersistentView v) {
            String view = SparkResources.table(v.catalog(), v.identifier(), metastoreCatalogs);
            out.add(new Named(view, view));
        } else if (p instanceof ResolvedNamespace n) {
            String[] ns = new String[n.namespace().size()];
            n.namespace().copyToArray(ns);
            if (ns.length > 0) {
                String db = SparkResources.namespace(n.catalog(), ns, metastoreCatalogs);
                out.add(new Named(db, db));
            }
        } else if (!queries.contains(p)) {
            targetRelation(p, out);
        }
    }

    private void targetRelation(LogicalPlan p, List<Named> out) {
        LogicalPlan r = p;
        while (r instanceof SubqueryAlias a) {
            r = a.child();
        }
        if (isRelation(r)) {
            out.addAll(relation(r));
        }
    }

    /**
     * The storage of an existing table a command names: a command touches its files too (DROP
     * TABLE of a managed table deletes them, wherever it was pointed).
     */
    private void storage(TableIdentifier id, String table, List<Named> out) {
        CatalogTable ct = catalog.table(id);
        if (ct != null && ct.storage().locationUri().isDefined()) {
            out.add(path(ct.storage().locationUri().get(), table));
        }
    }

    /** LOAD DATA reads its path; other commands with input actions read their targets. */
    private List<Named> sources(LogicalPlan cmd) {
        if (cmd instanceof CreateTableLikeCommand like) {
            String t = SparkResources.table(like.sourceTable(), currentDatabase.get());
            return List.of(new Named(t, t));
        }
        if (cmd instanceof org.apache.spark.sql.execution.command.AlterTableRenameCommand rename) {
            // a move: what the table holds goes under the new name (out of a zone: export)
            String t = SparkResources.table(rename.oldName(), currentDatabase.get());
            List<Named> out = new ArrayList<>(List.of(new Named(t, t)));
            storage(rename.oldName(), t, out);
            return out;
        }
        if (ADD_RESOURCES.contains(nodeName(cmd))) {
            // ADD FILE/JAR/ARCHIVE paths...: the command's one field, a list of strings
            List<Named> out = new ArrayList<>();
            for (scala.collection.Iterator<Object> it = cmd.productIterator(); it.hasNext(); ) {
                if (it.next() instanceof scala.collection.Iterable<?> paths) {
                    for (scala.collection.Iterator<?> p = paths.iterator(); p.hasNext(); ) {
                        if (p.next() instanceof String s && !s.isBlank()) {
                            out.add(path(new Path(s.trim()).toUri(), null));
                        }
                    }
                }
            }
            return out;
        }
        if (cmd instanceof LoadDataCommand load) {
            URI uri = new Path(load.path()).toUri();
            if (load.isLocal() && uri.getScheme() == null) {
                return List.of(new Named("file:" + uri.getPath(), "file:" + uri.getPath()));
            }
            return List.of(path(uri, null));
        }
        return null;
    }

    private void table(CatalogTable ct, List<Named> out) {
        String table = SparkResources.table(ct.identifier(), currentDatabase.get());
        out.add(new Named(table, table));
        Option<URI> location = ct.storage().locationUri();
        if (location.isDefined()) {
            out.add(path(location.get(), table));
        }
    }

    private void paths(FileIndex index, String cover, List<Named> out) {
        for (scala.collection.Iterator<Path> it = index.rootPaths().iterator(); it.hasNext(); ) {
            out.add(path(it.next().toUri(), cover));
        }
    }

    private void location(String location, String cover, List<Named> out) {
        if (location != null && !location.isEmpty()) {
            out.add(path(new Path(location).toUri(), cover));
        }
    }

    /**
     * A path as the filesystem will read it: without a scheme, on the default filesystem; a
     * relative one below the working directory, {@code ..} resolved ({@code ../../lake/sales}
     * from {@code /user/bob} is {@code /lake/sales}). Unresolvable: left relative, which the core
     * refuses.
     */
    private Named path(URI uri, String cover) {
        if (uri.getScheme() == null && uri.getPath() != null && !uri.getPath().startsWith("/")) {
            String home = workingDir.get();
            if (home != null) {
                uri = new Path(new Path(home), uri.getPath()).toUri();
            }
        }
        String resource = SparkResources.path(uri, uri.getScheme() == null ? defaultFs.get() : null);
        return new Named(resource, cover == null ? resource : cover);
    }

    private static Named unnamed(String nodeName) {
        String r = UNNAMED_SCHEME + nodeName;
        return new Named(r, r);
    }

    static String nodeName(LogicalPlan node) {
        String name = node.getClass().getSimpleName();
        return name.endsWith("$") ? name.substring(0, name.length() - 1) : name;
    }

    private static void logUnmapped(String name) {
        if (UNMAPPED_LOGGED.add(name)) {
            LOG.warn("jitgate: plan node {} has no row in the spark mapping table; inside a zone it is denied", name);
        }
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (Entry e : entries.values()) {
            parts.add((e.output ? "out " : "in ") + e.resource + "=" + e.actions);
        }
        return String.join(", ", parts);
    }
}
