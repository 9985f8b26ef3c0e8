package org.jitgate.hdfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class HdfsResourcesTest {
    @Test
    void pathIsPassedAsTheBareAbsolutePath() {
        assertEquals("/lake/sales/orders", HdfsResources.of("/lake/sales/orders"));
        assertEquals("/", HdfsResources.of("/"));
        assertEquals("/", HdfsResources.of(""));
        assertEquals("/", HdfsResources.of(null));
    }

    @Test
    void snapshotPathIsCheckedAsTheLivePathItCopies() {
        assertEquals("/lake/sales/orders/part-0", HdfsResources.of("/lake/.snapshot/s1/sales/orders/part-0"));
        assertEquals("/lake/sales", HdfsResources.of("/lake/sales/.snapshot/daily"));
        assertEquals("/lake", HdfsResources.of("/lake/.snapshot"));
        assertEquals("/", HdfsResources.of("/.snapshot/s0"));
        assertEquals("/lake/x.snapshot", HdfsResources.of("/lake/x.snapshot"));
    }
}
