package org.jitgate.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.apache.spark.sql.catalyst.plans.logical.Command;
import org.apache.spark.sql.catalyst.plans.logical.LeafNode;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.jitgate.JitGate;
import org.junit.jupiter.api.Test;

/**
 * The core's Spark table against the plan nodes of the Spark line this suite runs on: every
 * command and leaf node of Spark's jars has a row for this line, or is one of the nodes listed
 * here that need none; and every row for this line names a node the line has. A node a new Spark
 * line adds, or one a row's line marker (@3.5, @4.0) misplaces, fails here rather than being
 * denied in a zone at run time.
 */
class PlanNodesTest {
    /** Nodes that need no row, and why. */
    private static final Map<String, String> NO_ROW = Map.ofEntries(
            // Never in a plan the check rule sees.
            Map.entry("CTERelationRef", "Spark inlines common table expressions before check rules run"),
            Map.entry("DataSourceV2ScanRelation", "the optimizer's"),
            Map.entry("ScanBuilderHolder", "the optimizer's"),
            Map.entry("DeleteFromTableWithFilters", "the optimizer's"),
            Map.entry("InMemoryRelation", "cached data replaces a plan after its analysis"),
            Map.entry("LogicalQueryStage", "adaptive execution's"),
            Map.entry("DummyExpressionHolder", "an encoder's, never a query's"),
            Map.entry("RelationTimeTravel", "the analyzer resolves it to a relation"),
            Map.entry("CurrentNamespace", "the analyzer resolves it to a ResolvedNamespace"),
            Map.entry("ExecuteImmediateQuery", "the analyzer runs what it names as its own query"),
            Map.entry("SQLTableFunction", "the analyzer resolves it to the function's query"),
            Map.entry("TemporaryViewRelation", "a temporary view's catalog entry; the analyzer puts its plan in"),
            // Left without a row on purpose: refused where they could touch a zone.
            Map.entry("LoadData", "resolved to LoadDataCommand for Spark's tables; refused otherwise"),
            Map.entry("ExternalCommandExecutor", "runs another system's command: refused, it names nothing"),
            Map.entry("CreateUserDefinedFunction", "refused in a zone: resolved to CreateSQLFunctionCommand"),
            Map.entry("CompoundBody", "a SQL script: its statements are checked one by one; refused as a whole"),
            Map.entry("Transpose", "holds rows read while analysing: refused"),
            Map.entry("UnionLoopRef", "a recursive query's rows: refused"),
            Map.entry("OffsetHolder", "a stream's offsets: refused"));

    /** The plan nodes of Spark's SQL jars, by row name, with whether each needs a row. */
    private static Map<String, Boolean> sparkNodes() throws IOException {
        ClassLoader loader = LogicalPlan.class.getClassLoader();
        Map<String, Boolean> nodes = new TreeMap<>();
        Set<Path> jars = new TreeSet<>();
        for (String anyClass : new String[] {"org.apache.spark.sql.catalyst.plans.logical.LogicalPlan",
                "org.apache.spark.sql.execution.SparkPlan", "org.apache.spark.sql.hive.HiveUtils"}) {
            try {
                jars.add(Path.of(Class.forName(anyClass, false, loader).getProtectionDomain().getCodeSource()
                        .getLocation().toURI()));
            } catch (ReflectiveOperationException | java.net.URISyntaxException e) {
                throw new AssertionError("cannot find Spark's jar of " + anyClass, e);
            }
        }
        for (Path jar : jars) {
            try (ZipFile zip = new ZipFile(jar.toFile())) {
                for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                    String entry = e.nextElement().getName();
                    String simple = entry.substring(entry.lastIndexOf('/') + 1);
                    // top-level classes and Scala objects (Name$), not nested or anonymous ones
                    if (!entry.endsWith(".class") || simple.indexOf('$') >= 0 && !simple.endsWith("$.class")) {
                        continue;
                    }
                    Class<?> c;
                    try {
                        c = Class.forName(entry.substring(0, entry.length() - 6).replace('/', '.'), false, loader);
                    } catch (Throwable optionalDependencyMissing) {
                        continue;
                    }
                    if (LogicalPlan.class.isAssignableFrom(c) && !c.isInterface()
                            && !Modifier.isAbstract(c.getModifiers())) {
                        String name = c.getSimpleName().replace("$", "");
                        boolean needsRow = Command.class.isAssignableFrom(c) || LeafNode.class.isAssignableFrom(c);
                        nodes.merge(name, needsRow, Boolean::logicalOr);
                    }
                }
            }
        }
        return nodes;
    }

    /** This suite's Spark line: "3.5", "4.0". */
    private static String line() {
        String[] version = org.apache.spark.package$.MODULE$.SPARK_VERSION().split("\\.");
        return version[0] + "." + version[1];
    }

    private static boolean forLine(String lines, String line) {
        return lines.isEmpty() || Arrays.asList(lines.split(",")).contains(line);
    }

    @Test
    void everyCommandAndLeafOfThisSparkLineHasARow() throws IOException {
        String line = line();
        Map<String, Boolean> nodes = sparkNodes();
        assertTrue(nodes.size() > 200 && nodes.containsKey("InsertIntoHiveTable"), "Spark's jars read: " + nodes.size());
        Set<String> lacking = new TreeSet<>();
        nodes.forEach((name, needsRow) -> {
            if (!needsRow || NO_ROW.containsKey(name) || name.startsWith("Unresolved")
                    // what a command resolved (its target), read by the command (PlanAccesses.leaf)
                    || name.startsWith("Resolved")) {
                return;
            }
            String lines = JitGate.mappingLines("spark", name);
            if (lines == null || !forLine(lines, line)) {
                lacking.add(name + (lines == null ? "" : " (row for @" + lines + ")"));
            }
        });
        assertEquals(Set.of(), lacking, "Spark " + line + " plan nodes without a row in src/mapping/spark.tsv");
    }

    @Test
    void everyRowForThisSparkLineNamesANodeItHas() throws IOException {
        String line = line();
        Set<String> nodes = sparkNodes().keySet();
        Set<String> stale = new TreeSet<>();
        for (String name : JitGate.mappingNames("spark")) {
            if (forLine(JitGate.mappingLines("spark", name), line) && !nodes.contains(name)) {
                stale.add(name);
            }
        }
        assertEquals(Set.of(), stale, "rows of src/mapping/spark.tsv for Spark " + line + " that name no plan node of it");
    }
}
