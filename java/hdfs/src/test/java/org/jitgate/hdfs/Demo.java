package org.jitgate.hdfs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.io.IOUtils;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * The story of jitgate end to end, printed step by step (run by {@code make demo}): a real
 * {@code jitgate serve} on its embedded defaults, a NameNode with the plugin, and the CLI.
 *
 * <p>Arguments: the {@code jitgate} binary and a scratch directory.
 */
public final class Demo {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final org.apache.hadoop.fs.Path PART0 = new org.apache.hadoop.fs.Path("/lake/sales/orders/part-0");
    private static String bin;
    private static int step;

    public static void main(String[] args) throws Exception {
        bin = args[0];
        Path out = Path.of(args[1]).toAbsolutePath();
        Files.createDirectories(out);
        Process service = null;
        MiniDFSCluster cluster = null;
        try {
            say("Start the approval service on its embedded defaults (127.0.0.1:8470, example zone `sales`)");
            service = new ProcessBuilder(bin, "serve", "--data", out.resolve("data").toString())
                    .redirectErrorStream(true).redirectOutput(out.resolve("jitgate-serve.log").toFile()).start();
            waitForService(service, out);
            show("jitgate serve running; its log is " + out.resolve("jitgate-serve.log"));

            say("Start an HDFS NameNode (MiniDFSCluster) whose permission checks go through jitgate");
            Configuration conf = new HdfsConfiguration();
            conf.set(DFSConfigKeys.DFS_NAMENODE_INODE_ATTRIBUTES_PROVIDER_KEY, JitGateAttributeProvider.class.getName());
            conf.setBoolean(DFSConfigKeys.DFS_PERMISSIONS_ENABLED_KEY, true);
            conf.set("jitgate.service.url", "http://127.0.0.1:8470");
            conf.set("jitgate.service.token.file", out.resolve("data/plugin-token").toString());
            // The plugin pins the key the service signs its feed with.
            Process key = new ProcessBuilder(bin, "serve", "--print-public-key", "--data", out.resolve("data").toString())
                    .redirectErrorStream(true).start();
            String publicKey = new String(key.getInputStream().readAllBytes()).trim();
            if (key.waitFor() != 0) {
                throw new IllegalStateException("jitgate serve --print-public-key: " + publicKey);
            }
            conf.set("jitgate.service.public.key", publicKey);
            conf.set("jitgate.cache.dir", out.resolve("plugin-cache").toString());
            cluster = new MiniDFSCluster.Builder(conf, out.resolve("dfs").toFile()).numDataNodes(1).build();
            cluster.waitActive();
            FileSystem admin = cluster.getFileSystem();
            admin.mkdirs(PART0.getParent(), new FsPermission((short) 0755));
            try (FSDataOutputStream o = admin.create(PART0)) {
                o.write("id,item\n1,apples\n2,pears\n".getBytes(StandardCharsets.UTF_8));
            }
            show("/lake/sales is in the zone `sales`; " + PART0 + " holds 3 lines, readable by HDFS permissions");

            say("alice reads " + PART0 + " without a grant");
            FileSystem alice = fsAs("alice", cluster);
            show(tryRead(alice));

            say("alice asks for read on hdfs:/lake/sales for 1 minute");
            JsonNode request = JSON.readTree(cli("--as", "alice:analysts", "--json", "request", "hdfs:/lake/sales",
                    "--action", "read", "--for", "1m", "--reason", "INC-4411 reconcile orders"));
            String requestId = request.path("id").asText();
            show("request " + requestId + " is " + request.path("status").asText());

            say("bob, a sales owner, sees it and approves");
            show(cli("--as", "bob:sales-owners", "requests", "--status", "pending"));
            JsonNode approved = JSON.readTree(cli("--as", "bob:sales-owners", "--json", "approve", requestId));
            String grantId = approved.path("grant").path("id").asText();
            long approvedAt = System.nanoTime();
            show("grant " + grantId + " until " + approved.path("grant").path("expires_at").asText());

            say("alice reads again");
            String result;
            while ((result = tryRead(alice)).startsWith("denied")
                    && System.nanoTime() - approvedAt < TimeUnit.SECONDS.toNanos(10)) {
                Thread.sleep(5);
            }
            show(result + "   (the approval reached the NameNode in "
                    + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - approvedAt) + " ms)");

            say("bob revokes the grant");
            cli("--as", "bob:sales-owners", "revoke", grantId);
            long revokedAt = System.nanoTime();
            while (!(result = tryRead(alice)).startsWith("denied")
                    && System.nanoTime() - revokedAt < TimeUnit.SECONDS.toNanos(10)) {
                Thread.sleep(5);
            }
            show(result + "   (denied " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - revokedAt)
                    + " ms after the revoke)");

            say("The audit trail ties each access to its request and grant");
            Thread.sleep(500); // the plugin posts its audit batches every 200 ms
            show(cli("--as", "auditor", "audit", "--user", "alice"));
            say("Done. Everything the demo made is under " + out);
        } finally {
            if (cluster != null) {
                cluster.shutdown();
            }
            if (service != null) {
                service.destroy();
                service.waitFor(10, TimeUnit.SECONDS);
            }
        }
        System.exit(0);
    }

    private static FileSystem fsAs(String user, MiniDFSCluster cluster) throws Exception {
        UserGroupInformation ugi = UserGroupInformation.createUserForTesting(user, new String[] {"analysts"});
        return ugi.doAs((PrivilegedExceptionAction<FileSystem>) () ->
                FileSystem.newInstance(cluster.getURI(), cluster.getConfiguration(0)));
    }

    private static String tryRead(FileSystem fs) {
        try (var in = fs.open(PART0)) {
            byte[] all = IOUtils.readFullyToByteArray(in);
            return "read " + all.length + " bytes: " + new String(all, StandardCharsets.UTF_8).strip().replace('\n', ' ');
        } catch (IOException e) {
            String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
            return "denied: " + first;
        }
    }

    private static String cli(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(bin));
        cmd.addAll(List.of(args));
        System.out.println("  $ jitgate " + String.join(" ", args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("jitgate " + String.join(" ", args) + " failed:\n" + output);
        }
        return output.strip();
    }

    private static void waitForService(Process service, Path out) throws Exception {
        for (int i = 0; i < 300; i++) {
            if (!service.isAlive()) {
                throw new IllegalStateException("jitgate serve exited (is port 8470 taken?):\n"
                        + Files.readString(out.resolve("jitgate-serve.log")));
            }
            try {
                HttpURLConnection c = (HttpURLConnection) URI.create("http://127.0.0.1:8470/healthz").toURL().openConnection();
                if (c.getResponseCode() == 200 && Files.exists(out.resolve("data/plugin-token"))) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("jitgate serve did not answer on 127.0.0.1:8470 within 30 s");
    }

    private static void say(String what) {
        System.out.println();
        System.out.println("[" + (++step) + "] " + what);
    }

    private static void show(String what) {
        what.lines().forEach(l -> System.out.println("    " + l));
    }
}
