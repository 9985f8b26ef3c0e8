package org.jitgate;

import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The JVM's engine's numbers ({@link PluginMetrics}) as a JMX MBean named {@link #NAME}, for
 * HiveServer2, Spark and Ranger's hosts (the NameNode shows them through Hadoop metrics2 as well).
 * {@link JitGate#shared} registers it when it opens the engine and its close unregisters it. Each
 * attribute is read from the core when asked.
 */
public final class JitGateMetrics implements JitGateMetricsMBean {
    /** The MBean's name: one engine per JVM, so one MBean. */
    public static final String NAME = "org.jitgate:type=Metrics";

    private final JitGate engine;
    private final String plugin;

    private JitGateMetrics(JitGate engine, String plugin) {
        this.engine = engine;
        this.plugin = plugin;
    }

    /** Shows {@code engine}'s numbers under {@link #NAME}, in place of an earlier engine's. */
    static void register(JitGate engine, String plugin) {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            ObjectName name = new ObjectName(NAME);
            if (server.isRegistered(name)) {
                server.unregisterMBean(name);
            }
            server.registerMBean(new JitGateMetrics(engine, plugin), name);
        } catch (JMException | RuntimeException e) {
            // Metrics are for watching; a plugin decides without them.
            System.err.println("jitgate: cannot register the metrics MBean " + NAME + ": " + e);
        }
    }

    /** Removes the MBean (the shared engine closed). */
    static void unregister() {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            ObjectName name = new ObjectName(NAME);
            if (server.isRegistered(name)) {
                server.unregisterMBean(name);
            }
        } catch (JMException | RuntimeException e) {
            System.err.println("jitgate: cannot unregister the metrics MBean " + NAME + ": " + e);
        }
    }

    @Override
    public String getPlugin() {
        return plugin;
    }

    @Override
    public long getDecisionsAllowed() {
        return engine.metrics().decisionsAllowed();
    }

    @Override
    public long getDecisionsDenied() {
        return engine.metrics().decisionsDenied();
    }

    @Override
    public long getFeedLagMillis() {
        return engine.metrics().feedLagMillis();
    }

    @Override
    public long getSnapshotAgeMillis() {
        return engine.metrics().snapshotAgeMillis();
    }

    @Override
    public long getAuditQueueDepth() {
        return engine.metrics().auditQueueDepth();
    }

    @Override
    public long getAuditSpillBytes() {
        return engine.metrics().auditSpillBytes();
    }
}
