package org.jitgate.hdfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class HdfsResourcesTest {
    @Test
    void pathBecomesAnHdfsResource() {
        assertEquals("hdfs:/lake/sales/orders", HdfsResources.of("/lake/sales/orders"));
        assertEquals("hdfs:/", HdfsResources.of("/"));
        assertEquals("hdfs:/", HdfsResources.of(""));
        assertEquals("hdfs:/", HdfsResources.of(null));
    }

    @Test
    void snapshotPathIsCheckedAsTheLivePathItCopies() {
        assertEquals("hdfs:/lake/sales/orders/part-0", HdfsResources.of("/lake/.snapshot/s1/sales/orders/part-0"));
        assertEquals("hdfs:/lake/sales", HdfsResources.of("/lake/sales/.snapshot/daily"));
        assertEquals("hdfs:/lake", HdfsResources.of("/lake/.snapshot"));
        assertEquals("hdfs:/", HdfsResources.of("/.snapshot/s0"));
        assertEquals("hdfs:/lake/x.snapshot", HdfsResources.of("/lake/x.snapshot"));
    }
}
