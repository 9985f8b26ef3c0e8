package org.jitgate.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.command.AlterDatabaseSetLocationCommand;
import org.apache.spark.sql.execution.command.AnalyzeTablesCommand;
import org.apache.spark.sql.execution.command.DropDatabaseCommand;
import org.jitgate.Access;
import org.jitgate.Action;
import org.junit.jupiter.api.Test;
import scala.Option;

/** What a plan touches, for plans built here, against the core's real Spark table. */
class PlanAccessesTest {
    private static List<Access> accesses(LogicalPlan plan) {
        return PlanAccesses.of(plan, () -> "default", () -> URI.create("hdfs://nn:8020")).accesses();
    }

    /** V1 commands name their database as a string: without a mapping they named nothing at all. */
    @Test
    void v1DatabaseCommandsTargetTheirDatabase() {
        List<Access> drop = accesses(new DropDatabaseCommand("Sales", false, true));
        assertTrue(drop.contains(Access.output("hive:sales", Action.TRANSFORM)), drop.toString());
        assertTrue(drop.stream().noneMatch(a -> a.resource().startsWith(PlanAccesses.UNNAMED_SCHEME)), drop.toString());

        List<Access> analyze = accesses(new AnalyzeTablesCommand(Option.apply("sales"), true));
        assertTrue(analyze.contains(Access.output("hive:sales", Action.TRANSFORM)), analyze.toString());
        List<Access> current = accesses(new AnalyzeTablesCommand(Option.empty(), true));
        assertTrue(current.contains(Access.output("hive:default", Action.TRANSFORM)), current.toString());

        List<Access> move = accesses(new AlterDatabaseSetLocationCommand("sales", "hdfs://nn:8020/elsewhere"));
        assertTrue(move.contains(Access.output("hive:sales", Action.TRANSFORM)), move.toString());
    }

    /** A leaf jitgate cannot name is refused, wherever it reads; one that holds its own rows is not. */
    @Test
    void aLeafWithoutARowIsRefused() {
        LogicalPlan mystery = org.apache.spark.sql.catalyst.analysis.UnresolvedRelation$.MODULE$.apply(
                org.apache.spark.sql.catalyst.TableIdentifier$.MODULE$.apply("t"));
        Exception e = assertThrows(Exception.class, () -> accesses(mystery));
        assertTrue(e.getMessage().startsWith("jitgate: the plan node UnresolvedRelation reads from a place"),
                e.getMessage());
        assertTrue(accesses(new org.apache.spark.sql.catalyst.plans.logical.OneRowRelation()).isEmpty());
    }

    /** RENAME moves a table's contents to its new name: the old name is the source of the move. */
    @Test
    void renameReadsTheOldNameAndWritesTheNew() {
        org.apache.spark.sql.catalyst.TableIdentifier from =
                org.apache.spark.sql.catalyst.TableIdentifier$.MODULE$.apply("orders", Option.apply("sales"));
        org.apache.spark.sql.catalyst.TableIdentifier to =
                org.apache.spark.sql.catalyst.TableIdentifier$.MODULE$.apply("orders_old", Option.apply("sales"));
        List<Access> rename = accesses(new org.apache.spark.sql.execution.command.AlterTableRenameCommand(from, to, false));
        assertTrue(rename.contains(Access.input("hive:sales.orders", Action.TRANSFORM)), rename.toString());
        assertTrue(rename.contains(Access.output("hive:sales.orders_old", Action.TRANSFORM)), rename.toString());
    }

    /** A relative path is where the filesystem reads it: below the user's working directory. */
    @Test
    void relativePathsAreReadBelowTheWorkingDirectory() {
        LogicalPlan set = new AlterDatabaseSetLocationCommand("open", "../../lake/sales/open.db");
        List<Access> accesses = PlanAccesses.of(set, () -> "default", () -> URI.create("hdfs://nn:8020"),
                () -> "/user/mallory", PlanAccesses.Catalog.NONE, java.util.Set.of()).accesses();
        assertTrue(accesses.contains(Access.output("hdfs:/lake/sales/open.db", Action.WRITE)), accesses.toString());
    }

    /**
     * A command the table does not name, whose target cannot be read, is refused: it may touch a
     * zone. (LOAD DATA's statement form, which Spark turns into LoadDataCommand for its own tables:
     * the path it names is a plain string.)
     */
    @Test
    void anUnknownCommandNamingNothingIsRefused() {
        LogicalPlan load = new org.apache.spark.sql.catalyst.plans.logical.LoadData(
                new org.apache.spark.sql.catalyst.plans.logical.OneRowRelation(), "/lake/sales/x", false, false,
                Option.empty());
        Exception e = assertThrows(Exception.class, () -> accesses(load));
        assertTrue(e.getMessage().startsWith("jitgate: the command LoadData has no row"), e.getMessage());
    }

    /** Which field names a command's target is data in the core's table, not a guess. */
    @Test
    void theTableNamesTheFieldsThatHoldTargets() {
        assertEquals("location=read,partitionSpec=partitions",
                org.jitgate.JitGate.fields("spark", "AlterTableSetLocationCommand"));
        assertEquals("", org.jitgate.JitGate.fields("spark", "DropTableCommand"));
        assertEquals(null, org.jitgate.JitGate.fields("spark", "NoSuchCommand"));
    }

    /** Which Spark lines have a row's node is data in the same table: "" for every line. */
    @Test
    void theTableNamesTheLinesOfARow() {
        assertEquals("4.0", org.jitgate.JitGate.mappingLines("spark", "AlterColumns"));
        assertEquals("3.5", org.jitgate.JitGate.mappingLines("spark", "AlterColumn"));
        assertEquals("", org.jitgate.JitGate.mappingLines("spark", "DropTableCommand"));
        assertEquals(null, org.jitgate.JitGate.mappingLines("spark", "NoSuchCommand"));
    }
}
