package org.jitgate.hive;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveOperationType;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject.HivePrivObjectActionType;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject.HivePrivilegeObjectType;
import org.jitgate.Access;
import org.jitgate.Action;
import org.junit.jupiter.api.Test;

/** The translation of Hive's objects into accesses, against the core's real Hive table. */
class HiveAccessesTest {
    private static final Function<String, int[]> CORE = HiveAccesses.CORE_TABLE;

    private static HivePrivilegeObject table(String db, String name) {
        return new HivePrivilegeObject(HivePrivilegeObjectType.TABLE_OR_VIEW, db, name);
    }

    private static HivePrivilegeObject written(String db, String name, HivePrivObjectActionType type) {
        return new HivePrivilegeObject(HivePrivilegeObjectType.TABLE_OR_VIEW, db, name, type);
    }

    private static HivePrivilegeObject database(String db) {
        return new HivePrivilegeObject(HivePrivilegeObjectType.DATABASE, db, null);
    }

    /** A Hive upgrade that adds operation types fails here until the table has a row for each. */
    @Test
    void every_operation_type_of_this_hive_has_a_row_in_the_core_table() {
        List<String> missing = new ArrayList<>();
        for (HiveOperationType op : HiveOperationType.values()) {
            if (CORE.apply(op.name()) == null) {
                missing.add(op.name());
            }
        }
        assertEquals(List.of(), missing, "add these to src/mapping/hive.tsv");
        assertTrue(HiveOperationType.values().length >= 150, "Hive 4 has about 158 operation types");
    }

    /**
     * A location a table, partition or database is pointed at is read from then on. (The HiveServer2
     * test runs on the local filesystem, where Hive resolves an hdfs:// location before it asks the
     * authorizer, so this is tested at the seam only.)
     */
    @Test
    void a_location_a_table_is_pointed_at_is_read() {
        HivePrivilegeObject location = new HivePrivilegeObject(HivePrivilegeObjectType.DFS_URI, null,
                "hdfs://nn:8020/lake/sales/orders");
        for (HiveOperationType op : HiveAccesses.POINTING) {
            List<Access> accesses = HiveAccesses.of(op, List.of(),
                    List.of(database("open"), table("open", "pointer"), location), CORE);
            int at = HiveAccesses.POINTING_DATABASES.contains(op) ? Action.WRITE : Action.READ;
            List<Access> there = accesses.stream().filter(a -> a.resource().equals("hdfs:/lake/sales/orders")).toList();
            assertEquals(List.of(Access.output("hdfs:/lake/sales/orders", at)), there, op + ": " + accesses);
        }
        List<Access> query = HiveAccesses.of(HiveOperationType.QUERY, List.of(), List.of(location), CORE);
        assertTrue(query.stream().noneMatch(a -> !a.output()), "a query's output directory is written, not read");
    }

    @Test
    void a_query_reads_its_inputs_and_writes_its_outputs() {
        List<Access> select = HiveAccesses.of(HiveOperationType.QUERY, List.of(table("Sales", "Orders")), null, CORE);
        assertEquals(List.of(Access.input("hive:sales.orders", Action.READ)), select);

        List<Access> insert = HiveAccesses.of(HiveOperationType.QUERY, List.of(),
                List.of(written("sales", "orders", HivePrivObjectActionType.INSERT)), CORE);
        assertEquals(List.of(Access.output("hive:sales.orders", Action.WRITE)), insert);
    }

    @Test
    void ctas_reads_the_source_and_transforms_the_target_and_its_database() {
        List<Access> ctas = HiveAccesses.of(HiveOperationType.CREATETABLE_AS_SELECT,
                List.of(table("sales", "orders")), List.of(database("sales"), table("sales", "summary")), CORE);
        assertEquals(List.of(Access.input("hive:sales.orders", Action.READ),
                Access.output("hive:sales", Action.TRANSFORM),
                Access.output("hive:sales.summary", Action.TRANSFORM)), ctas);
    }

    @Test
    void export_asks_read_and_export_of_its_inputs() {
        HivePrivilegeObject target = new HivePrivilegeObject(HivePrivilegeObjectType.DFS_URI, null,
                "hdfs://nn:8020/tmp/export");
        List<Access> export = HiveAccesses.of(HiveOperationType.EXPORT, List.of(table("sales", "orders")),
                List.of(target), CORE);
        assertEquals(List.of(Access.input("hive:sales.orders", Action.READ | Action.EXPORT),
                Access.output("hdfs:/tmp/export", Action.WRITE)), export);
    }

    @Test
    void objects_of_operations_that_touch_no_data_are_left_out() {
        assertEquals(List.of(), HiveAccesses.of(HiveOperationType.SHOWTABLES, List.of(database("sales")), null, CORE));
        assertEquals(List.of(), HiveAccesses.of(HiveOperationType.SWITCHDATABASE, List.of(database("sales")),
                List.of(), CORE));
    }

    @Test
    void an_operation_without_a_row_asks_for_no_actions_so_the_core_denies_it_in_a_zone() {
        List<Access> accesses = HiveAccesses.of(HiveOperationType.QUERY, List.of(table("sales", "orders")),
                List.of(written("sales", "copy", HivePrivObjectActionType.INSERT)), name -> null);
        assertEquals(List.of(Access.input("hive:sales.orders", 0), Access.output("hive:sales.copy", 0)), accesses);
    }

    @Test
    void local_places_go_to_the_core_as_they_are() {
        HivePrivilegeObject local = new HivePrivilegeObject(HivePrivilegeObjectType.LOCAL_URI, null, "file:/tmp/in");
        int[] load = CORE.apply("LOAD");
        assertEquals(List.of(Access.input("file:/tmp/in", load[0]), Access.output("hive:open.t", Action.WRITE)),
                HiveAccesses.of(HiveOperationType.LOAD, List.of(local), List.of(table("open", "t")), CORE));
        HivePrivilegeObject out = new HivePrivilegeObject(HivePrivilegeObjectType.LOCAL_URI, null, "file:/tmp/out");
        assertEquals(List.of(Access.input("hive:sales.orders", Action.READ), Access.output("file:/tmp/out", Action.WRITE)),
                HiveAccesses.of(HiveOperationType.QUERY, List.of(table("sales", "orders")), List.of(out), CORE));
    }

    @Test
    void dfs_commands_need_every_action_on_the_paths_they_name() {
        HivePrivilegeObject cmd = HivePrivilegeObject.createHivePrivilegeObject(List.of("-cat", "/lake/sales/orders/part-0"));
        List<Access> dfs = HiveAccesses.of(HiveOperationType.DFS, List.of(cmd), null, CORE);
        assertEquals(1, dfs.size());
        assertEquals("hdfs:/lake/sales/orders/part-0", dfs.get(0).resource());
        assertEquals(Action.READ | Action.WRITE | Action.EXPORT | Action.TRANSFORM, dfs.get(0).actions());
    }

    @Test
    void the_table_rows_the_tests_rely_on() {
        assertArrayEquals(new int[] {Action.READ, Action.WRITE}, CORE.apply("QUERY"));
        assertArrayEquals(new int[] {Action.WRITE, Action.WRITE}, CORE.apply("TRUNCATETABLE"));
        assertArrayEquals(new int[] {Action.TRANSFORM, Action.TRANSFORM}, CORE.apply("DROPTABLE"));
    }

    /** ABORT TRANSACTIONS rolls back what its transactions wrote: a write of each table they lock. */
    @Test
    void abort_transactions_writes_the_tables_its_transactions_lock() {
        org.apache.hadoop.hive.metastore.api.ShowLocksResponseElement orders =
                new org.apache.hadoop.hive.metastore.api.ShowLocksResponseElement();
        orders.setTxnid(7);
        orders.setDbname("Sales");
        orders.setTablename("Orders");
        org.apache.hadoop.hive.metastore.api.ShowLocksResponseElement other =
                new org.apache.hadoop.hive.metastore.api.ShowLocksResponseElement();
        other.setTxnid(9);
        other.setDbname("open");
        other.setTablename("notes");
        List<Access> abort = HiveAccesses.abortTransactions("ABORT TRANSACTIONS 7 8", List.of(orders, other), CORE);
        assertEquals(List.of(Access.output("hive:sales.orders", Action.WRITE)), abort);
        assertEquals(List.of(), HiveAccesses.abortTransactions("abort transactions 8", List.of(orders, other), CORE));
        List<Access> unreadable = HiveAccesses.abortTransactions("ABORT TRANSACTIONS seven", List.of(orders), CORE);
        assertEquals(1, unreadable.size());
        assertTrue(unreadable.get(0).resource().startsWith("hive:?"), unreadable.toString());
    }
}
