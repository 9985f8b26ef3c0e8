package org.jitgate.hdfs;

import org.apache.hadoop.metrics2.MetricsCollector;
import org.apache.hadoop.metrics2.MetricsSource;
import org.apache.hadoop.metrics2.MetricsSystem;
import org.apache.hadoop.metrics2.lib.DefaultMetricsSystem;
import org.apache.hadoop.metrics2.lib.Interns;
import org.jitgate.JitGate;
import org.jitgate.PluginMetrics;

/**
 * The NameNode plugin's numbers ({@link PluginMetrics}) as a Hadoop metrics2 source named
 * {@link #NAME}: the NameNode's metrics sinks and its JMX ({@code Hadoop:service=NameNode,name=JitGate})
 * show them beside its own. Read from the core at each snapshot of the metrics system.
 */
final class JitGateMetricsSource implements MetricsSource {
    static final String NAME = "JitGate";

    private final JitGate engine;

    private JitGateMetricsSource(JitGate engine) {
        this.engine = engine;
    }

    /** Shows {@code engine}'s numbers, in place of an earlier NameNode's of this JVM (tests restart them). */
    static void register(JitGate engine) {
        try {
            MetricsSystem system = DefaultMetricsSystem.instance();
            if (system.getSource(NAME) != null) {
                system.unregisterSource(NAME);
            }
            system.register(NAME, "jitgate decisions, feed and audit trail", new JitGateMetricsSource(engine));
        } catch (RuntimeException e) {
            // Metrics are for watching; the NameNode decides without them.
            System.err.println("jitgate: cannot register the metrics2 source " + NAME + ": " + e);
        }
    }

    @Override
    public void getMetrics(MetricsCollector collector, boolean all) {
        PluginMetrics m = engine.metrics();
        collector.addRecord(NAME).setContext("jitgate")
                .addCounter(Interns.info("DecisionsAllowed", "Protected accesses allowed"), m.decisionsAllowed())
                .addCounter(Interns.info("DecisionsDenied", "Protected accesses denied"), m.decisionsDenied())
                .addGauge(Interns.info("FeedLagMillis", "Milliseconds the plugin may have missed changes (0: following)"),
                        m.feedLagMillis())
                .addGauge(Interns.info("SnapshotAgeMillis", "Milliseconds since the grant snapshot was installed"),
                        m.snapshotAgeMillis())
                .addGauge(Interns.info("AuditQueueDepth", "Decisions waiting for the audit worker"),
                        m.auditQueueDepth())
                .addGauge(Interns.info("AuditSpillBytes", "Bytes of the audit spill waiting for the service"),
                        m.auditSpillBytes());
    }
}
