package org.jitgate;

/**
 * The JNI entry points of the decision core ({@code Java_org_jitgate_JitGateNative_*} in the Rust
 * crate). Signatures are fixed by docs/DESIGN.md; everything above this class goes through
 * {@link JitGate}.
 */
final class JitGateNative {
    static {
        NativeLoader.load();
    }

    private JitGateNative() {
    }

    /** Opens an engine from {@code key=value} lines; 0 on failure, then {@link #lastError()} says why. */
    static native long open(String config);

    /** The reason the last {@link #open} on this thread failed. */
    static native String lastError();

    /**
     * 0 not protected, 1 allow, 2 and up deny (see {@link Decision}). The resource is passed as UTF-8
     * bytes: cheaper across JNI than a String, which the JVM would convert twice. Each length is the
     * argument's own ({@code length()}, {@code length}, 0 for null): passing it spares the core a
     * call back into the JVM to ask for it, which costs about what the decision does. The core
     * trusts them, so {@link JitGate#decide} is the only caller: a shorter resource length would be
     * decided as a prefix of the path, a longer one leaves an exception pending.
     */
    static native int decide(long engine, String user, int userLength, byte[] resource,
                             int resourceLength, int actions, String operation, int operationLength,
                             String context, int contextLength);

    /**
     * Decides moving {@code source} to {@code destination} (a rename, a concat's source into its
     * target): {@code actions} on what moves, plus export when it leaves a zone. Bare absolute
     * paths are HDFS paths.
     */
    static native int decideMove(long engine, String user, String source, String destination, int actions,
                                 String operation, String context);

    /** The denial message for a move {@link #decideMove} refused (it names export when the move leaves a zone). */
    static native String explainMove(long engine, String user, String source, String destination, int actions,
                                     int code);

    /** A snapshot file's bytes for a full feed body (JSON) signed with the key {@code seed} (32 bytes) makes, or null when it is not one. */
    static native byte[] snapshotFile(String feed, byte[] seed);

    /** The public key the key {@code seed} (32 bytes) makes, as {@code jitgate.service.public.key} takes it. */
    static native String publicKey(byte[] seed);

    /** The user-facing denial message for a decision code. */
    static native String explain(long engine, String user, String resource, int actions, int code);

    /**
     * One decision over several accesses (see {@link JitGate#check}). {@code outputs} flags which of
     * {@code resources} are written; {@code vias} holds, for each, the view it is read through or
     * null. Null only when the core failed.
     */
    static native Verdict check(long engine, String user, String[] resources, int[] actions,
                               boolean[] outputs, String[] vias, String operation, String context);

    /** The id of an active grant that allows it now, else null; decides and records nothing. */
    static native String coveringGrant(long engine, String user, String resource, int actions);

    /** True while the grant is in the engine's snapshot and inside its time window. */
    static native boolean grantLive(long engine, String grantId);

    /**
     * The row {@code name} of the core's mapping table for {@code engine} ("hdfs", "hive", "spark",
     * "ranger"): {input actions, output actions}, or null when the table has no such row.
     */
    static native int[] mapping(String engine, String name);

    /** Every row name of {@code engine}'s table, sorted; null when it has no table. */
    static native String[] mappingNames(String engine);

    /** The release lines that have that row's operation ("" for every line), or null when the row is unknown. */
    static native String mappingLines(String engine, String name);

    /** The FIELDS column of that row ("" when it has none), or null when the row is unknown. */
    static native String fields(String engine, String name);

    /**
     * The core's number for the constant {@code name} of {@link Action} or {@link Decision} (the C
     * header's {@code JITGATE_<name>}), or {@link Long#MIN_VALUE} when the core has none of that name.
     */
    static native long constant(String name);

    /**
     * The engine's numbers as {@code name value} lines ({@link PluginMetrics#parse}), or null when
     * the handle is closed or unknown.
     */
    static native String metrics(long engine);

    /**
     * The resources of {@code scheme} ({@code hdfs}, {@code hive}) whose context the service's
     * approvers wait for; null, with {@link #lastError} set, when the service cannot be asked.
     */
    static native String[] contextWanted(long engine, String scheme);

    /**
     * Sends what the plugin learnt of one resource (a negative count is unknown); false, with
     * {@link #lastError} set, when the service did not take it.
     */
    static native boolean reportContext(long engine, String resource, String kind, long files, long directories,
                                        long bytes, String location, String error);

    /** Stops the engine; later calls with this handle yield code 6. */
    static native void close(long engine);
}
