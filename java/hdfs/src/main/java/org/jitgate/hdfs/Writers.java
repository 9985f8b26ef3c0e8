package org.jitgate.hdfs;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.jitgate.Action;
import org.jitgate.JitGate;

/**
 * Output streams a write grant let a client open in a zone, stopped when no grant covers them.
 *
 * <p>Once a file is open for write, the NameNode asks no enforcer again: adding a block, closing,
 * fsync and pipeline updates check only the client's lease, and data goes to DataNodes directly.
 * So the plugin files each create or append it allowed under the grant that allowed it, and a
 * thread asks the core every {@link #TICK_MILLIS} ms whether each of those grants still holds
 * (one question per grant, however many files). When one has ended (revoked, expired), each of
 * its files moves to another grant that covers it, or has its lease recovered as the NameNode's
 * own user, through the NameNode's public RPC: the lease moves away from the writer at once, so
 * its next NameNode call (new block, close, fsync, pipeline update) fails, and the DataNodes stop
 * the block being written when their next heartbeat (dfs.heartbeat.interval) brings them the
 * recovery. A file that was closed meanwhile costs one cheap call then. Lease recovery never runs
 * inside a permission check, which holds the namesystem lock.
 */
final class Writers implements AutoCloseable {
    static final long TICK_MILLIS = 100;

    private final JitGate jitgate;
    private final Configuration conf;
    /** grant id → (path → the user whose grant opened it) */
    private final Map<String, Map<String, String>> byGrant = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean closed;
    private DistributedFileSystem nameNode;

    Writers(JitGate jitgate, Configuration conf) {
        this.jitgate = jitgate;
        this.conf = conf;
        this.thread = new Thread(this::run, "jitgate-writers");
        thread.setDaemon(true);
        thread.start();
    }

    /** A protected create or append of {@code path} by {@code user} was allowed just now. */
    void opened(String path, String user) {
        String grant = jitgate.coveringGrant(user, path, Action.WRITE);
        if (grant == null) {
            // allowed a moment ago, not now: the grant ended in between, stop the stream at once
            grant = "";
        }
        file(grant, path, user);
    }

    /** Files {@code path} under {@code grant}, atomically with {@link #ended}'s removal of an emptied grant. */
    private void file(String grant, String path, String user) {
        byGrant.compute(grant, (g, files) -> {
            Map<String, String> m = files == null ? new ConcurrentHashMap<>() : files;
            m.put(path, user);
            return m;
        });
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(TICK_MILLIS);
                for (String grant : byGrant.keySet()) {
                    if (grant.isEmpty() || !jitgate.grantLive(grant)) {
                        ended(grant);
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                // kept: the next tick tries again (a standby NameNode refuses until it is active)
                System.err.println("jitgate: cannot stop the writers of a grant that ended: " + t);
            }
        }
    }

    private void ended(String grant) throws IOException {
        Map<String, String> files = byGrant.get(grant);
        if (files == null) {
            return;
        }
        for (Map.Entry<String, String> f : files.entrySet()) {
            String path = f.getKey();
            String user = f.getValue();
            String other = jitgate.coveringGrant(user, path, Action.WRITE);
            if (other != null && !other.equals(grant)) {
                file(other, path, user);
            } else {
                stop(path, user);
            }
            files.remove(path, user);
        }
        byGrant.computeIfPresent(grant, (g, m) -> m.isEmpty() ? null : m);
    }

    private void stop(String path, String user) throws IOException {
        Path file = new Path(path);
        try {
            if (!nameNode().isFileClosed(file)) {
                nameNode().recoverLease(file);
                System.err.println("jitgate: no grant lets " + user + " write hdfs:" + path
                        + " any more: the lease of its output stream was recovered");
            }
        } catch (FileNotFoundException gone) {
            // deleted since, or renamed (which needed its own grant)
        }
    }

    /** A client of this NameNode as the NameNode's own (super)user, made on first use. */
    private DistributedFileSystem nameNode() throws IOException {
        if (nameNode == null) {
            FileSystem fs = FileSystem.newInstance(FileSystem.getDefaultUri(conf), conf);
            if (!(fs instanceof DistributedFileSystem)) {
                fs.close();
                throw new IOException("fs.defaultFS " + FileSystem.getDefaultUri(conf) + " is not this HDFS");
            }
            nameNode = (DistributedFileSystem) fs;
        }
        return nameNode;
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        if (nameNode != null) {
            try {
                nameNode.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
