package org.jitgate;

/** The attributes of {@link JitGateMetrics}, as JMX shows them. */
public interface JitGateMetricsMBean {
    /** {@code jitgate.plugin}: the plugin that opened the JVM's engine. */
    String getPlugin();

    long getDecisionsAllowed();

    long getDecisionsDenied();

    long getFeedLagMillis();

    long getSnapshotAgeMillis();

    long getAuditQueueDepth();

    long getAuditSpillBytes();
}
