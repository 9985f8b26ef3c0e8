package org.jitgate.hdfs;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.server.namenode.INode;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.jitgate.Action;
import org.jitgate.JitGate;

/**
 * Output streams a write grant let a client open in a zone, stopped when no grant covers them.
 *
 * <p>Once a file is open for write, the NameNode asks no enforcer again: adding a block, closing,
 * fsync and pipeline updates check only the client's lease, and data goes to DataNodes directly.
 * So the plugin queues each create or append it allowed; a thread files it under the grant that
 * covers it and asks the core every {@link #TICK_MILLIS} ms whether each of those grants still
 * holds (one question per grant, however many files; the handler thread asks nothing more). When one has ended (revoked, expired), each of
 * its files moves to another grant that covers it, or has its lease recovered as the NameNode's
 * own user, through the NameNode's public RPC: the lease moves away from the writer at once, so
 * its next NameNode call (new block, close, fsync, pipeline update) fails, and the DataNodes stop
 * the block being written when their next heartbeat (dfs.heartbeat.interval) brings them the
 * recovery. Lease recovery never runs inside a permission check, which holds the namesystem lock.
 *
 * <p>A file is known by its inode, not its path, so renaming an open file does not take it out of
 * reach: the NameNode builds the status a create or append returns right after the check allowed
 * it, in the same call, and the provider's {@code getAttributes} hands the file's inode to
 * {@link #created}. Each tick also forgets the files their writers closed, reading the inode
 * in memory (no call to the NameNode), so a long ingest grant does not pile them up. What this does not cover: streams opened before the NameNode (re)started or
 * failed over, since the watch lives in the NameNode's memory; and streams the check could not
 * name as a create or append (WebHDFS on Hadoop 3.4, whose create carries no operation name).
 */
final class Writers implements AutoCloseable {
    static final long TICK_MILLIS = 100;

    /** One stream: the file's path when opened, its inode once known (null until then). */
    static final class Stream {
        final String path;
        final String user;
        volatile INode inode;

        Stream(String path, String user) {
            this.path = path;
            this.user = user;
        }

        /** What the NameNode resolves to this file, wherever it has moved. */
        Path file() {
            INode known = inode;
            return new Path(known != null ? "/.reserved/.inodes/" + known.getId() : path);
        }

        /** Closed by its writer (or deleted): nothing left to stop. Read without the namesystem lock. */
        boolean done() {
            INode known = inode;
            return known != null && !(known.isFile() && known.asFile().isUnderConstruction());
        }
    }

    private record Pending(Object call, Stream stream) {
    }

    /** The stream whose create or append this call just allowed, until its inode is seen. */
    private static final ThreadLocal<Pending> PENDING = new ThreadLocal<>();
    /** How many threads have a pending stream: getAttributes looks no further when none has. */
    private static final AtomicInteger PENDING_COUNT = new AtomicInteger();

    private final JitGate jitgate;
    private final Configuration conf;
    /** grant id → its streams */
    private final Map<String, Map<Stream, Boolean>> byGrant = new ConcurrentHashMap<>();
    /** Streams opened since the last tick, not yet filed under a grant. */
    private final Queue<Stream> opening = new ConcurrentLinkedQueue<>();
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

    /**
     * A protected create or append of {@code path} by {@code user} was allowed just now. The
     * handler thread only queues it; the watch's thread finds the grant that covers it.
     */
    void opened(String path, String user) {
        Stream stream = new Stream(path, user);
        opening.add(stream);
        if (PENDING.get() == null) {
            PENDING_COUNT.incrementAndGet();
        }
        PENDING.set(new Pending(RpcCall.identity(), stream));
    }

    /** The provider's getAttributes for file status: the first file after an allowed open is it. */
    static void created(INodeAttributes inode) {
        if (PENDING_COUNT.get() == 0) {
            return;
        }
        Pending p = PENDING.get();
        if (p == null) {
            return;
        }
        if (p.call() != RpcCall.identity()) {
            forget(); // a call whose open failed after the check; this is another call
            return;
        }
        if (inode instanceof INode && ((INode) inode).isFile()) {
            p.stream().inode = (INode) inode;
            forget();
        }
    }

    private static void forget() {
        PENDING.remove();
        PENDING_COUNT.decrementAndGet();
    }

    /**
     * Files {@code stream} under {@code grant}. Without a lock on the grant (every create under it
     * would wait for it): a map that {@link #ended} removed, empty, just before the put is noticed
     * and the stream filed again.
     */
    private void file(String grant, Stream stream) {
        while (true) {
            Map<Stream, Boolean> streams = byGrant.computeIfAbsent(grant, g -> new ConcurrentHashMap<>());
            streams.put(stream, Boolean.TRUE);
            if (byGrant.get(grant) == streams) {
                return;
            }
            streams.remove(stream);
        }
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            for (Stream s = opening.poll(); s != null; s = opening.poll()) {
                try {
                    String grant = jitgate.coveringGrant(s.user, s.path, Action.WRITE);
                    if (grant != null) {
                        file(grant, s);
                    } else if (!s.done()) {
                        stop(s); // the grant that allowed it ended since
                    }
                } catch (Throwable t) {
                    file("", s); // tried again next tick, as the stream of an ended grant
                    System.err.println("jitgate: cannot watch the stream of " + s.user + " on hdfs:" + s.path + ": " + t);
                }
            }
            for (Map.Entry<String, Map<Stream, Boolean>> e : byGrant.entrySet()) {
                String grant = e.getKey();
                try {
                    if (grant.isEmpty() || !jitgate.grantLive(grant)) {
                        ended(grant);
                    } else {
                        e.getValue().keySet().removeIf(Stream::done);
                    }
                } catch (Throwable t) {
                    System.err.println("jitgate: cannot stop the writers of grant " + grant + ": " + t);
                }
            }
        }
    }

    private void ended(String grant) {
        Map<Stream, Boolean> streams = byGrant.get(grant);
        if (streams == null) {
            return;
        }
        for (Stream s : streams.keySet()) {
            try {
                String other = jitgate.coveringGrant(s.user, s.path, Action.WRITE);
                if (other != null && !other.equals(grant)) {
                    file(other, s);
                } else {
                    stop(s);
                }
                streams.remove(s);
            } catch (Throwable t) {
                // kept for the next tick (a standby NameNode refuses until it is active)
                System.err.println("jitgate: cannot stop the stream of " + s.user + " on hdfs:" + s.path + ": " + t);
            }
        }
        byGrant.computeIfPresent(grant, (g, m) -> m.isEmpty() ? null : m);
    }

    private void stop(Stream s) throws IOException {
        Path file = s.file();
        try {
            if (!nameNode().isFileClosed(file)) {
                nameNode().recoverLease(file);
                System.err.println("jitgate: no grant lets " + s.user + " write hdfs:" + s.path
                        + " any more: the lease of its output stream (" + file + ") was recovered");
            }
        } catch (FileNotFoundException gone) {
            // deleted since (a path not yet resolved to its inode may have been renamed: see the class note)
        }
    }

    /** A client of this NameNode as the NameNode's own (super)user, made on first use. */
    private DistributedFileSystem nameNode() throws IOException {
        if (nameNode == null) {
            nameNode = ownNameNode(conf);
        }
        return nameNode;
    }

    /**
     * A new client of this HDFS ({@code fs.defaultFS}) as the calling thread's user: the
     * NameNode's own (super)user on the plugin's threads.
     */
    static DistributedFileSystem ownNameNode(Configuration conf) throws IOException {
        FileSystem fs = FileSystem.newInstance(FileSystem.getDefaultUri(conf), conf);
        if (!(fs instanceof DistributedFileSystem)) {
            fs.close();
            throw new IOException("fs.defaultFS " + FileSystem.getDefaultUri(conf) + " is not this HDFS");
        }
        return (DistributedFileSystem) fs;
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
