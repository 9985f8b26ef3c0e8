package org.jitgate;

/**
 * One object a query or plan touches, for {@link JitGate#check}.
 *
 * @param resource a jitgate resource: {@code hdfs:/path}, {@code hive:db.table}, or for a place
 *     jitgate does not govern (a local directory, another filesystem) any other {@code scheme:...},
 *     which is outside every zone
 * @param actions the {@link Action} bits the engine's mapping table asks for; 0 when the engine's
 *     operation has no row in the table, which the core denies inside a zone
 * @param output true when the query writes here; protected data written to an output outside its
 *     zone needs {@link Action#EXPORT} as well
 * @param via for an input read through a view, the nearest such view's resource (else null): the
 *     core lets the view's grant cover a base table in the view's own zone
 */
public record Access(String resource, int actions, boolean output, String via) {
    public Access(String resource, int actions, boolean output) {
        this(resource, actions, output, null);
    }

    public static Access input(String resource, int actions) {
        return new Access(resource, actions, false);
    }

    /** An input read through the view {@code view}. */
    public static Access throughView(String resource, int actions, String view) {
        return new Access(resource, actions, false, view);
    }

    public static Access output(String resource, int actions) {
        return new Access(resource, actions, true);
    }
}
