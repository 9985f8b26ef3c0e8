package org.jitgate.ranger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.ranger.plugin.policyengine.RangerAccessResourceImpl;
import org.junit.jupiter.api.Test;

class RangerResourcesTest {
    private static String of(String serviceType, Object... elements) {
        Map<String, Object> map = new HashMap<>();
        for (int i = 0; i < elements.length; i += 2) {
            map.put((String) elements[i], elements[i + 1]);
        }
        return RangerResources.of(serviceType, new RangerAccessResourceImpl(map));
    }

    @Test
    void hdfsPathsBecomeHdfsResources() {
        assertEquals("hdfs:/lake/sales/orders", of("hdfs", "path", "/lake/sales/orders"));
        assertEquals("hdfs:/lake/sales", of("hdfs", "path", "/lake/sales/"));
        assertEquals("hdfs:/", of("hdfs", "path", "/"));
        assertNull(of("hdfs", "path", "relative/path"));
        assertNull(of("hdfs"));
    }

    @Test
    void hiveObjectsBecomeLowerCaseHiveResources() {
        assertEquals("hive:sales", of("hive", "database", "Sales"));
        assertEquals("hive:sales.orders", of("hive", "database", "sales", "table", "ORDERS"));
        assertEquals("hive:sales.orders", of("hive", "database", "sales", "table", "orders", "column", "id"));
        assertEquals("hive:sales", of("hive", "database", "sales", "udf", "mask"), "a function lives in its database");
        assertNull(of("hive", "hiveservice", "*"));
        assertNull(of("hive", "global", "*"));
    }

    @Test
    void hiveLocationsAreHdfsPathsOrOutsidePlaces() {
        assertEquals("hdfs:/lake/sales/x", of("hive", "url", "hdfs://nn1:8020/lake/sales/x"));
        assertEquals("hdfs:/lake/sales/x", of("hive", "url", "hdfs:/lake/sales/x"));
        assertEquals("hdfs:/lake/sales/x", of("hive", "url", "/lake/sales/x"));
        assertEquals("hdfs:/lake/sales/x", of("hive", "url", "hdfs://nn1:8020//lake/sales/x"));
        assertEquals("hdfs:/lake/sales", of("hdfs", "path", "//lake/sales"));
        assertEquals("s3a://bucket/k", of("hive", "url", "s3a://bucket/k"));
    }

    @Test
    void severalValuesOrOtherServicesHaveNoResource() {
        assertNull(of("hive", "database", List.of("sales", "hr")));
        assertNull(of("kafka", "topic", "orders"));
        assertNull(RangerResources.of("hdfs", null));
    }
}
