package org.jitgate.hive;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject.HivePrivilegeObjectType;
import org.junit.jupiter.api.Test;

class HiveResourcesTest {
    private static List<String> of(HivePrivilegeObjectType type, String db, String name) {
        return HiveResources.of(new HivePrivilegeObject(type, db, name), false);
    }

    @Test
    void tables_partitions_and_columns_name_their_table_in_lower_case() {
        assertEquals(List.of("hive:sales.orders"), of(HivePrivilegeObjectType.TABLE_OR_VIEW, "Sales", "ORDERS"));
        assertEquals(List.of("hive:sales.orders"), of(HivePrivilegeObjectType.PARTITION, "sales", "orders"));
        assertEquals(List.of("hive:sales.orders"), of(HivePrivilegeObjectType.COLUMN, "sales", "orders"));
        assertEquals(List.of("hive:sales"), of(HivePrivilegeObjectType.DATABASE, "SALES", null));
    }

    @Test
    void hdfs_locations_lose_scheme_and_namenode_and_other_filesystems_stay_as_they_are() {
        assertEquals(List.of("hdfs:/lake/sales/orders"),
                of(HivePrivilegeObjectType.DFS_URI, null, "hdfs://nn.example.com:8020/lake/sales/orders"));
        assertEquals(List.of("hdfs:/lake/sales"), of(HivePrivilegeObjectType.DFS_URI, null, "hdfs:/lake/sales"));
        assertEquals(List.of("hdfs:/lake/sales"), of(HivePrivilegeObjectType.DFS_URI, null, "/lake/sales"));
        assertEquals(List.of("hdfs:/"), of(HivePrivilegeObjectType.DFS_URI, null, "hdfs://nn:8020"));
        // Hadoop's Path reads a doubled slash after the NameNode as one; `hdfs://lake/...` would
        // name a host `lake` to the core.
        assertEquals(List.of("hdfs:/lake/sales/orders"),
                of(HivePrivilegeObjectType.DFS_URI, null, "hdfs://nn:8020//lake/sales/orders"));
        assertEquals(List.of("hdfs:/lake/sales"), of(HivePrivilegeObjectType.DFS_URI, null, "hdfs:///lake/sales"));
        assertEquals(List.of("s3a://bucket/key"), of(HivePrivilegeObjectType.DFS_URI, null, "s3a://bucket/key"));
        assertEquals(List.of("file:/tmp/out"), of(HivePrivilegeObjectType.DFS_URI, null, "file:/tmp/out"));
    }

    @Test
    void local_locations_are_files_on_the_server() {
        assertEquals(List.of("file:/tmp/out"), of(HivePrivilegeObjectType.LOCAL_URI, null, "file:/tmp/out"));
        assertEquals(List.of("file:/tmp/out"), of(HivePrivilegeObjectType.LOCAL_URI, null, "file:///tmp/out"));
        assertEquals(List.of("file:/tmp/out"), of(HivePrivilegeObjectType.LOCAL_URI, null, "/tmp/out"));
    }

    @Test
    void functions_count_only_in_a_database_and_other_objects_not_at_all() {
        assertEquals(List.of("hive:sales.mask"), of(HivePrivilegeObjectType.FUNCTION, "sales", "mask"));
        assertEquals(List.of(), of(HivePrivilegeObjectType.FUNCTION, null, "upper"));
        assertEquals(List.of(), of(HivePrivilegeObjectType.GLOBAL, null, null));
        assertEquals(List.of(), of(HivePrivilegeObjectType.DATACONNECTOR, null, "mysql_conn"));
    }

    @Test
    void command_arguments_that_are_paths_are_places() {
        HivePrivilegeObject dfs = HivePrivilegeObject.createHivePrivilegeObject(
                List.of("-cp", "/lake/sales/orders", "hdfs://nn:8020/tmp/copy", "file:///tmp/x", "s3a://b/k", "relative"));
        assertEquals(List.of("hdfs:/lake/sales/orders", "hdfs:/tmp/copy", "file:/tmp/x", "s3a://b/k", "relative"),
                HiveResources.of(dfs, true));
        HivePrivilegeObject add = HivePrivilegeObject.createHivePrivilegeObject(List.of("file", "/tmp/udf.py"));
        assertEquals(List.of("file:/tmp/udf.py"), HiveResources.of(add, false));
    }

    /** A dfs command's relative path is where the filesystem reads it, below the working directory. */
    @Test
    void relativeCommandPathsLieBelowTheWorkingDirectory() {
        HivePrivilegeObject params = HivePrivilegeObject.createHivePrivilegeObject(
                List.of("-cat", "../../lake/sales/orders/part-0", "notes"));
        assertEquals(List.of("hdfs:/lake/sales/orders/part-0", "hdfs:/user/bob/notes"),
                HiveResources.of(params, true, java.net.URI.create("hdfs://nn:8020/user/bob")));
        assertEquals(List.of("../../lake/sales/orders/part-0", "notes"), HiveResources.of(params, true),
                "with nowhere to resolve them they stay relative, which the core refuses");
    }

    /** ADD's first word is the kind of resource; a relative file lies in HiveServer2's directory. */
    @Test
    void addsRelativeFilesLieInHiveServersDirectory() {
        HivePrivilegeObject add = HivePrivilegeObject.createHivePrivilegeObject(List.of("jar", "udf.jar"));
        assertEquals(List.of("file:/opt/hive/udf.jar"), HiveResources.of(add, false, java.net.URI.create("file:/opt/hive")));
    }
}
