package org.jitgate.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.junit.jupiter.api.Test;
import scala.Option;

class SparkResourcesTest {
    private static final URI HDFS_DEFAULT = URI.create("hdfs://nn:8020");

    @Test
    void hdfsLocationsLoseTheirNameNode() {
        assertEquals("hdfs:/lake/sales/orders", SparkResources.path(URI.create("hdfs://nn:8020/lake/sales/orders"), null));
        assertEquals("hdfs:/lake/sales", SparkResources.path(URI.create("webhdfs://nn:9870/lake/sales"), null));
        assertEquals("hdfs:/lake/x", SparkResources.path(URI.create("/lake/x"), HDFS_DEFAULT));
        // A doubled slash after the NameNode is one slash to Hadoop, not a host named `lake`.
        assertEquals("hdfs:/lake/sales/orders",
                SparkResources.path(URI.create("hdfs://nn:8020//lake/sales/orders"), null));
    }

    @Test
    void otherStoresStayOutsideEveryZone() {
        assertEquals("file:/tmp/out", SparkResources.path(URI.create("file:///tmp/out"), null));
        assertEquals("file:/tmp/out", SparkResources.path(URI.create("file:/tmp/out"), null));
        assertEquals("s3a://bucket/sales/orders", SparkResources.path(URI.create("s3a://bucket/sales/orders"), null));
        assertEquals("file:/tmp/y", SparkResources.path(URI.create("/tmp/y"), URI.create("file:///")));
    }

    @Test
    void tablesAreLowerCaseHiveNames() {
        assertEquals("hive:sales.orders",
                SparkResources.table(new TableIdentifier("Orders", Option.apply("SALES"), Option.empty()), "default"));
        assertEquals("hive:analytics.t",
                SparkResources.table(new TableIdentifier("t", Option.empty(), Option.empty()), "analytics"));
        assertEquals("hive:sales", SparkResources.database("Sales"));
    }

    @Test
    void onlyTheSessionCatalogIsTheHiveMetastore() {
        Identifier orders = Identifier.of(new String[] {"sales"}, "orders");
        assertEquals("hive:sales.orders", SparkResources.table(null, orders));
        assertEquals("hive:sales", SparkResources.namespace(null, new String[] {"sales"}, java.util.Set.of()));
    }

    /** A second catalog over the same metastore, named by the admin, names the same hive: tables. */
    @Test
    void catalogsOverTheMetastoreNameHiveTables() {
        org.apache.spark.sql.connector.catalog.CatalogPlugin lake = new org.apache.spark.sql.connector.catalog.CatalogPlugin() {
            @Override
            public void initialize(String name, org.apache.spark.sql.util.CaseInsensitiveStringMap options) {
            }

            @Override
            public String name() {
                return "Lake";
            }
        };
        org.apache.spark.sql.connector.catalog.Identifier orders =
                org.apache.spark.sql.connector.catalog.Identifier.of(new String[] {"Sales"}, "Orders");
        assertEquals("spark-catalog:lake.sales.orders", SparkResources.table(lake, orders));
        assertEquals("hive:sales.orders",
                SparkResources.table(lake, orders, SparkResources.metastoreCatalogs(" other, LAKE ")));
        assertEquals("hive:sales",
                SparkResources.namespace(lake, new String[] {"Sales"}, SparkResources.metastoreCatalogs("lake")));
    }
}
