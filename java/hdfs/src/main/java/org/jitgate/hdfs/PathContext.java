package org.jitgate.hdfs;

import java.io.FileNotFoundException;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ContentSummary;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.jitgate.ContextReporter;
import org.jitgate.ResourceContext;

/**
 * What an {@code hdfs:} path is, for approvers ({@link ContextReporter}): whether it is a file or
 * a directory, how many files and directories lie under it and their size, as this NameNode's
 * content summary counts them. Asked through the NameNode's public RPC as its own user, from the
 * reporter's thread, never inside a permission check; the NameNode yields its lock while it counts
 * a large tree ({@code dfs.content-summary.limit}).
 */
final class PathContext implements ContextReporter.Describer, AutoCloseable {
    private final Configuration conf;
    private DistributedFileSystem nameNode;

    PathContext(Configuration conf) {
        this.conf = conf;
    }

    @Override
    public ResourceContext describe(String resource) throws IOException {
        if (!resource.startsWith("hdfs:/")) {
            throw new IOException("not an hdfs: path");
        }
        // (scheme, authority, path): a path component with a colon is not read as a URI scheme.
        Path path = new Path(null, null, resource.substring("hdfs:".length()));
        ContentSummary s;
        try {
            s = client().getContentSummary(path);
        } catch (FileNotFoundException e) {
            throw new FileNotFoundException("no such path");
        }
        // The directory count includes the path itself, so a file has none.
        return ResourceContext.path(s.getDirectoryCount() == 0 ? "file" : "directory", s.getFileCount(),
                s.getDirectoryCount(), s.getLength());
    }

    private synchronized DistributedFileSystem client() throws IOException {
        if (nameNode == null) {
            nameNode = Writers.ownNameNode(conf);
        }
        return nameNode;
    }

    @Override
    public synchronized void close() {
        if (nameNode != null) {
            try {
                nameNode.close();
            } catch (IOException ignored) {
                // closing
            }
            nameNode = null;
        }
    }
}
