package org.jitgate.hive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hive.metastore.TableType;
import org.apache.hadoop.hive.ql.hooks.ReadEntity;
import org.apache.hadoop.hive.ql.hooks.WriteEntity;
import org.apache.hadoop.hive.ql.metadata.Table;
import org.jitgate.Access;
import org.jitgate.Action;
import org.junit.jupiter.api.Test;

/** What the plan check puts to the core for a compiled query's entities, against the core's Hive table. */
class PlanCheckTest {
    private static final int[] QUERY = HiveAccesses.CORE_TABLE.apply("QUERY");

    private static Table table(String db, String name, String location) {
        Table t = new Table(db, name);
        if (location != null) {
            t.setDataLocation(new Path(location));
        }
        return t;
    }

    private static Table view(String db, String name) {
        Table v = new Table(db, name);
        v.setTableType(TableType.VIRTUAL_VIEW);
        return v;
    }

    /** A table in a database outside every zone whose files lie in an hdfs: zone is read there. */
    @Test
    void aTablesStorageIsReadAsAPath() {
        Set<ReadEntity> in = Set.of(new ReadEntity(table("open", "t", "hdfs://nn:8020/lake/sales/orders")));
        List<Access> accesses = PlanCheck.accesses(in, Set.of(), QUERY);
        assertEquals(List.of(new Access("hdfs:/lake/sales/orders", Action.READ, false, null)), accesses);
    }

    /** A table Hive reads through a view goes to the core with that view; its storage too. */
    @Test
    void tablesReadThroughAViewNameTheView() {
        ReadEntity v = new ReadEntity(view("open", "orders_view"));
        ReadEntity base = new ReadEntity(table("sales", "orders", "hdfs://nn:8020/lake/sales/orders"), v, false);
        Set<ReadEntity> in = new LinkedHashSet<>(List.of(v, base));
        List<Access> accesses = PlanCheck.accesses(in, Set.of(), QUERY);
        assertTrue(accesses.contains(Access.throughView("hive:sales.orders", Action.READ, "hive:open.orders_view")),
                accesses.toString());
        assertTrue(accesses.contains(Access.throughView("hdfs:/lake/sales/orders", Action.READ, "hive:open.orders_view")),
                accesses.toString());
        assertTrue(accesses.stream().noneMatch(a -> a.resource().equals("hive:open.orders_view")),
                "the view itself is the authorizer's: " + accesses);
    }

    /** Writing a table writes its files: a write with no table read still names the storage. */
    @Test
    void aWrittenTablesStorageIsWritten() {
        int[] insert = HiveAccesses.CORE_TABLE.apply("QUERY");
        Set<WriteEntity> out = Set.of(new WriteEntity(table("open", "t", "hdfs://nn:8020/lake/sales/x"),
                WriteEntity.WriteType.INSERT));
        List<Access> accesses = PlanCheck.accesses(Set.of(), out, insert);
        assertEquals(List.of(Access.output("hdfs:/lake/sales/x", insert[1])), accesses);
    }
}
