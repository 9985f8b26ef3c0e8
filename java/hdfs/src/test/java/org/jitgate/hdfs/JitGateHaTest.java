package org.jitgate.hdfs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.PrivilegedExceptionAction;
import java.time.Duration;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.MiniDFSNNTopology;
import org.apache.hadoop.hdfs.server.namenode.ha.HATestUtil;
import org.apache.hadoop.io.IOUtils;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
import org.jitgate.JitGate;
import org.jitgate.testkit.JitGateService;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An HA pair of NameNodes, each with the plugin: whichever is active decides the same way, before
 * and after a failover, for the calls that hand out blocks too.
 */
class JitGateHaTest {
    private static final Path PART0 = new Path("/lake/sales/orders/part-0");
    private static final byte[] BYTES = "id,item\n1,apples\n".getBytes(StandardCharsets.UTF_8);

    private static JitGateService service;
    private static MiniDFSCluster cluster;
    private static Configuration clientConf;

    @BeforeAll
    static void start(@TempDir java.nio.file.Path dir) throws Exception {
        service = JitGateService.start(dir);
        Configuration conf = new HdfsConfiguration();
        conf.set(DFSConfigKeys.DFS_NAMENODE_INODE_ATTRIBUTES_PROVIDER_KEY, JitGateAttributeProvider.class.getName());
        conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, true);
        conf.set("jitgate.service.url", service.url());
        conf.set("jitgate.service.token.file", service.tokensFile().toString());
        conf.set("jitgate.service.public.key.file", service.publicKeyFile().toString());
        conf.set("jitgate.cache.dir", dir.resolve("plugin-cache").toString());
        cluster = new MiniDFSCluster.Builder(conf, dir.resolve("dfs").toFile())
                .nnTopology(MiniDFSNNTopology.simpleHATopology()).numDataNodes(1).build();
        cluster.waitActive();
        cluster.transitionToActive(0);
        clientConf = new Configuration(conf);
        HATestUtil.setFailoverConfigurations(cluster, clientConf);
        FileSystem superuser = HATestUtil.configureFailoverFs(cluster, conf);
        FsPermission open = new FsPermission((short) 0777);
        for (String d : new String[] {"/", "/lake", "/lake/sales", "/lake/sales/orders"}) {
            superuser.mkdirs(new Path(d));
            superuser.setPermission(new Path(d), open);
        }
        try (FSDataOutputStream out = superuser.create(PART0)) {
            out.write(BYTES);
        }
        superuser.setPermission(PART0, new FsPermission((short) 0644));
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.shutdown();
        }
        if (service != null) {
            service.close();
        }
        // The providers joined the JVM's engine, which outlives them; the next class opens its own.
        JitGate.closeShared();
    }

    private static DistributedFileSystem as(String user) throws Exception {
        return UserGroupInformation.createUserForTesting(user, new String[] {"analysts"})
                .doAs((PrivilegedExceptionAction<DistributedFileSystem>) () ->
                        (DistributedFileSystem) FileSystem.newInstance(FileSystem.getDefaultUri(clientConf), clientConf));
    }

    private static byte[] read(DistributedFileSystem fs) throws Exception {
        try (FSDataInputStream in = fs.open(PART0)) {
            return IOUtils.readFullyToByteArray(in);
        }
    }

    private static void assertDenied(DistributedFileSystem fs) {
        AccessControlException e = assertThrows(AccessControlException.class, () -> read(fs));
        assertTrue(e.getMessage().startsWith("jitgate: "), e.getMessage());
        AccessControlException located = assertThrows(AccessControlException.class,
                () -> fs.getClient().getLocatedFileInfo(PART0.toString(), true));
        assertTrue(located.getMessage().startsWith("jitgate: "), located.getMessage());
    }

    @Test
    void bothNameNodesOfAPairDecideAlike() throws Exception {
        try (DistributedFileSystem mallory = as("mallory"); DistributedFileSystem alice = as("alice")) {
            assertDenied(mallory);
            String request = service.request("alice", "hdfs:/lake/sales", "read", "5m", "INC-4414: HA check");
            service.approve(request, "bob", "sales-owners");
            byte[] before = eventually(() -> read(alice));
            assertArrayEquals(BYTES, before);

            cluster.transitionToStandby(0);
            cluster.transitionToActive(1);
            assertDenied(mallory);
            assertArrayEquals(BYTES, eventually(() -> read(alice)), "the grant holds on the other NameNode");
        }
    }

    private static <T> T eventually(PrivilegedExceptionAction<T> action) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return action.run();
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }
}
