package org.jitgate.hdfs;

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
 * Output streams a write grant let a client open in a zone, stopped when the grant ends.
 *
 * <p>Once a file is open for write, the NameNode asks no enforcer again: adding a block, closing,
 * fsync and pipeline updates check only the client's lease, and data goes to DataNodes directly.
 * So the plugin remembers each file it allowed to be created or appended to under a grant, and a
 * thread asks the core every {@link #TICK_MILLIS} ms whether a grant still covers it. When none
 * does (revoked, expired), it recovers the file's lease as the NameNode's own user, through the
 * NameNode's public RPC: the lease moves away from the writer at once, so its next NameNode call
 * (new block, close, fsync, pipeline update) fails, and the DataNodes stop the block being
 * written when their next heartbeat (dfs.heartbeat.interval) brings them the recovery. Lease
 * recovery is never run from inside a permission check, which holds the namesystem lock.
 */
final class Writers implements AutoCloseable {
    static final long TICK_MILLIS = 100;
    /** How often files that were closed are forgotten (one RPC each). */
    private static final long PRUNE_MILLIS = 5_000;

    private final JitGate jitgate;
    private final Configuration conf;
    /** path → the user whose grant opened it */
    private final Map<String, String> open = new ConcurrentHashMap<>();
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

    /** A protected create or append of {@code path} by {@code user} was allowed. */
    void opened(String path, String user) {
        open.put(path, user);
    }

    int watching() {
        return open.size();
    }

    private void run() {
        long lastPrune = System.nanoTime();
        while (!closed) {
            try {
                Thread.sleep(TICK_MILLIS);
                for (Map.Entry<String, String> w : open.entrySet()) {
                    if (!jitgate.stillAllowed(w.getValue(), w.getKey(), Action.WRITE)) {
                        stop(w.getKey(), w.getValue());
                    }
                }
                if (System.nanoTime() - lastPrune > PRUNE_MILLIS * 1_000_000) {
                    lastPrune = System.nanoTime();
                    for (String path : open.keySet()) {
                        if (nameNode().isFileClosed(new Path(path))) {
                            open.remove(path);
                        }
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                // kept: the next tick tries again (a standby NameNode refuses until it is active)
                System.err.println("jitgate: cannot check or stop the writers of grants that ended: " + t);
            }
        }
    }

    private void stop(String path, String user) throws IOException {
        try {
            nameNode().recoverLease(new Path(path));
            System.err.println("jitgate: the write grant of " + user + " on hdfs:" + path
                    + " ended: its output stream's lease was recovered");
        } catch (java.io.FileNotFoundException gone) {
            // deleted, or renamed (which needed its own grant)
        }
        open.remove(path, user);
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
