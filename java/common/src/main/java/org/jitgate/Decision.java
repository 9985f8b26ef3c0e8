package org.jitgate;

/** Decision codes returned by {@link JitGate#decide}; the meaning of each denial comes from the core. */
public final class Decision {
    /** The resource is in no zone: the engine's normal permissions apply. */
    public static final int NOT_PROTECTED = 0;
    /** An active grant covers the user, resource and actions. */
    public static final int ALLOW = 1;
    /** No active grant covers the request. */
    public static final int DENY_NO_GRANT = 2;
    /** No verified snapshot yet (the service has not answered, and no intact cache): every hdfs: and hive: resource. */
    public static final int DENY_NO_SNAPSHOT = 3;
    /** The audit trail cannot take more events. */
    public static final int DENY_AUDIT_UNAVAILABLE = 4;
    /** The request could not be understood. */
    public static final int DENY_BAD_INPUT = 5;
    /** The engine is closed or the handle is unknown. */
    public static final int DENY_CLOSED = 6;
    /** The core failed internally. */
    public static final int DENY_INTERNAL = 7;
    /** The engine's operation has no row in the core's mapping table ({@link JitGate#check} only). */
    public static final int DENY_UNMAPPED = 8;

    private Decision() {
    }

    /** True for every code that must stop the action, including codes this class does not know. */
    public static boolean denied(int code) {
        return code != NOT_PROTECTED && code != ALLOW;
    }
}
