package org.jitgate;

/**
 * One reading of a plugin engine's numbers ({@link JitGate#metrics}), as the core counts them:
 * protected decisions by outcome since the engine started, how long the follower may have missed
 * changes (0 while it follows the feed), how long ago the snapshot decisions read was installed,
 * and the audit trail's backlog. Shown by {@link JitGateMetrics} (JMX) and the NameNode's metrics2
 * source.
 */
public final class PluginMetrics {
    /** A closed engine's reading: nothing counted. */
    static final PluginMetrics NONE = new PluginMetrics(0, 0, 0, 0, 0, 0);

    private final long decisionsAllowed;
    private final long decisionsDenied;
    private final long feedLagMillis;
    private final long snapshotAgeMillis;
    private final long auditQueueDepth;
    private final long auditSpillBytes;

    PluginMetrics(long decisionsAllowed, long decisionsDenied, long feedLagMillis, long snapshotAgeMillis,
                  long auditQueueDepth, long auditSpillBytes) {
        this.decisionsAllowed = decisionsAllowed;
        this.decisionsDenied = decisionsDenied;
        this.feedLagMillis = feedLagMillis;
        this.snapshotAgeMillis = snapshotAgeMillis;
        this.auditQueueDepth = auditQueueDepth;
        this.auditSpillBytes = auditSpillBytes;
    }

    /** The core's {@code name value} lines; a name this class does not know is skipped. */
    static PluginMetrics parse(String text) {
        if (text == null) {
            return NONE;
        }
        long[] v = new long[6];
        for (String line : text.split("\n")) {
            int space = line.indexOf(' ');
            if (space < 0) {
                continue;
            }
            int i = switch (line.substring(0, space)) {
                case "decisions_allowed" -> 0;
                case "decisions_denied" -> 1;
                case "feed_lag_millis" -> 2;
                case "snapshot_age_millis" -> 3;
                case "audit_queue_depth" -> 4;
                case "audit_spill_bytes" -> 5;
                default -> -1;
            };
            if (i >= 0) {
                v[i] = Long.parseLong(line.substring(space + 1).trim());
            }
        }
        return new PluginMetrics(v[0], v[1], v[2], v[3], v[4], v[5]);
    }

    /** Protected accesses allowed since the engine started. */
    public long decisionsAllowed() {
        return decisionsAllowed;
    }

    /** Protected accesses denied since the engine started, whatever the reason. */
    public long decisionsDenied() {
        return decisionsDenied;
    }

    /** Milliseconds the engine may have missed changes: 0 while it follows the feed. */
    public long feedLagMillis() {
        return feedLagMillis;
    }

    /** Milliseconds since the snapshot decisions read was installed. */
    public long snapshotAgeMillis() {
        return snapshotAgeMillis;
    }

    /** Decisions recorded but not yet taken by the audit worker. */
    public long auditQueueDepth() {
        return auditQueueDepth;
    }

    /** Bytes of the audit spill file waiting to be sent to the service. */
    public long auditSpillBytes() {
        return auditSpillBytes;
    }
}
