package org.jitgate.hdfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class HdfsResourcesTest {
    @Test
    void pathIsPassedAsTheBareAbsolutePath() {
        assertEquals("/lake/sales/orders", HdfsResources.of("/lake/sales/orders", null));
        assertEquals("/", HdfsResources.of("/", null));
        assertEquals("/", HdfsResources.of("", null));
        assertEquals("/", HdfsResources.of(null, new byte[][] {new byte[0]}));
    }

    @Test
    void aMissingPathIsBuiltFromTheComponentsOrRefused() {
        byte[][] lakeSales = {new byte[0], "lake".getBytes(), "sales".getBytes()};
        assertEquals("/lake/sales", HdfsResources.of(null, lakeSales));
        assertThrows(IllegalArgumentException.class, () -> HdfsResources.of(null, null));
    }

    @Test
    void snapshotPathIsCheckedAsTheLivePathItCopies() {
        assertEquals("/lake/sales/orders/part-0", HdfsResources.of("/lake/.snapshot/s1/sales/orders/part-0", null));
        assertEquals("/lake/sales", HdfsResources.of("/lake/sales/.snapshot/daily", null));
        assertEquals("/lake", HdfsResources.of("/lake/.snapshot", null));
        assertEquals("/", HdfsResources.of("/.snapshot/s0", null));
        assertEquals("/lake/x.snapshot", HdfsResources.of("/lake/x.snapshot", null));
    }
}
