package org.jitgate.hdfs;

import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.jitgate.ContextReporter;
import org.jitgate.JitGate;
import org.jitgate.PluginConfig;

/**
 * jitgate's NameNode plugin: set
 * {@code dfs.namenode.inode.attributes.provider.class=org.jitgate.hdfs.JitGateAttributeProvider} and
 * the {@code jitgate.*} keys in hdfs-site.xml.
 *
 * <p>It leaves inode attributes as they are and wraps the NameNode's permission check in a
 * {@link JitGateEnforcer}, and tells approvers what a requested path is ({@link PathContext}).
 * The NameNode creates it with {@code ReflectionUtils.newInstance}, which hands over the
 * configuration through {@link Configurable}.
 */
public class JitGateAttributeProvider extends INodeAttributeProvider implements Configurable {
    private Configuration conf;
    private volatile JitGate jitgate;
    private volatile Writers writers;
    private volatile ContextReporter context;
    private volatile PathContext paths;

    @Override
    public void setConf(Configuration conf) {
        this.conf = conf;
    }

    @Override
    public Configuration getConf() {
        return conf;
    }

    /** Opens (or joins) this JVM's engine; a configuration the core refuses stops the NameNode. */
    @Override
    public void start() {
        Configuration c = conf == null ? new Configuration() : conf;
        // The core's NameNode table, read whole now: one that cannot be read stops the start.
        HdfsActions.rows();
        jitgate = PluginConfig.read("hdfs", c, c::get).shared();
        writers = new Writers(jitgate, c);
        JitGateMetricsSource.register(jitgate);
        paths = new PathContext(c);
        context = ContextReporter.start(jitgate, "hdfs", c.get(ContextReporter.intervalKey("hdfs")), paths);
    }

    /** The engine is the JVM's, shared with other plugins that may live here; it is left running. */
    @Override
    public void stop() {
        jitgate = null;
        if (context != null) {
            context.close();
            context = null;
        }
        if (paths != null) {
            paths.close();
            paths = null;
        }
        if (writers != null) {
            writers.close();
            writers = null;
        }
    }

    @Override
    public INodeAttributes getAttributes(String[] pathElements, INodeAttributes inode) {
        return inode;
    }

    /**
     * What the NameNode asks for file status and listings. Its default decodes every path
     * component into a String for the method above; jitgate changes no attribute, so it skips that.
     * The status a create or append returns names the new stream's inode ({@link Writers}).
     */
    @Override
    public INodeAttributes getAttributes(byte[][] components, INodeAttributes inode) {
        Writers.created(inode);
        return inode;
    }

    @Override
    public AccessControlEnforcer getExternalAccessControlEnforcer(AccessControlEnforcer defaultEnforcer) {
        return new JitGateEnforcer(defaultEnforcer, jitgate, writers);
    }
}
