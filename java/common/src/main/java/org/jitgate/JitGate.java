package org.jitgate;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One decision engine of the core: a grant cache that follows the approval service's feed and
 * answers {@link #decide} from memory. A plugin uses {@link #shared}, so every hook of one JVM sees
 * the same grants and writes one audit trail.
 *
 * <p>Thread-safe; {@link #decide} never blocks on the network.
 */
public final class JitGate implements AutoCloseable {
    /** Only keys with this prefix are passed to the core. */
    public static final String KEY_PREFIX = "jitgate.";

    private static JitGate shared;

    private final long handle;
    private final AtomicBoolean closed = new AtomicBoolean();

    private JitGate(long handle) {
        this.handle = handle;
    }

    /**
     * The engine of this JVM, opened from {@code conf} by the first caller. Later callers get the same
     * engine whatever they pass: two plugins in one process share the grants and the audit trail.
     * After {@link #close()} the next call opens a new one.
     *
     * @throws IllegalStateException when the core refuses the configuration
     */
    public static synchronized JitGate shared(Map<String, String> conf) {
        return shared(() -> conf);
    }

    /** As {@link #shared(Map)}, building the configuration only when the engine is to be opened. */
    public static synchronized JitGate shared(java.util.function.Supplier<Map<String, String>> conf) {
        if (shared == null) {
            Map<String, String> keys = conf.get();
            shared = open(keys);
            JitGateMetrics.register(shared, keys.getOrDefault(PluginConfig.PLUGIN_KEY, ""));
        }
        return shared;
    }

    /** Closes this JVM's shared engine, if one is open (tests: the next user opens a fresh one). */
    public static synchronized void closeShared() {
        if (shared != null) {
            shared.close();
        }
    }

    /**
     * A private engine, not shared with other callers; tests and benchmarks use it.
     *
     * @throws IllegalStateException when the core refuses the configuration
     * @throws IllegalArgumentException when a key or value cannot be written as a config line
     */
    public static JitGate open(Map<String, String> conf) {
        long handle = JitGateNative.open(serialize(conf));
        if (handle == 0) {
            throw new IllegalStateException("jitgate: cannot open the decision engine: "
                    + JitGateNative.lastError());
        }
        return new JitGate(handle);
    }

    /**
     * The decision for {@code user} doing {@code actions} ({@link Action} bits) on {@code resource}.
     * The rule is the core's, the same through its C ABI: a bare absolute path ({@code /lake/x}) is
     * the HDFS path {@code hdfs:/lake/x}; a null user or resource, or one the core cannot read, is
     * {@link Decision#DENY_BAD_INPUT} (and recorded) wherever it lies.
     *
     * @param operation the engine's name for the call (audit only; may be null)
     * @param context the caller's context, e.g. HDFS caller context or query id (audit only; may be null)
     * @return a {@link Decision} code
     */
    public int decide(String user, String resource, int actions, String operation, String context) {
        byte[] bytes = resource == null ? null : resource.getBytes(StandardCharsets.UTF_8);
        return JitGateNative.decide(handle, user, length(user), bytes, bytes == null ? 0 : bytes.length,
                actions, operation, length(operation), context, length(context));
    }

    private static int length(String s) {
        return s == null ? 0 : s.length();
    }

    /**
     * Decides moving {@code source} to {@code destination}: {@code actions} on what moves (the zones
     * it lies in and any below it), and {@link Action#EXPORT} as well when the destination lies
     * outside one of those zones. The rule is the core's, the same for every engine.
     *
     * @return a {@link Decision} code
     */
    public int decideMove(String user, String source, String destination, int actions, String operation,
                          String context) {
        return JitGateNative.decideMove(handle, user, source, destination, actions, operation, context);
    }

    /** The message for a move {@link #decideMove} denied: it names export when the move leaves a zone. */
    public String explainMove(String user, String source, String destination, int actions, int code) {
        return JitGateNative.explainMove(handle, user, source, destination, actions, code);
    }

    /**
     * Writes {@code feed}, a full snapshot as the service's feed sends it ({@code "reset": true}), as
     * the cache file an engine opened on {@code cacheDir} starts from with no service: for tools,
     * tests and benchmarks. The file's format is the core's. Its zones and grants are signed with a
     * key made for this call, whose public half is returned: the engine takes the file only when
     * it pins that key ({@value #PUBLIC_KEY}), as a plugin pins its service's.
     */
    public static String writeSnapshot(java.nio.file.Path cacheDir, String feed) throws java.io.IOException {
        byte[] seed = new byte[32];
        new java.security.SecureRandom().nextBytes(seed);
        byte[] file = JitGateNative.snapshotFile(feed, seed);
        if (file == null) {
            throw new IllegalArgumentException("jitgate: not a full snapshot (a feed body with \"reset\": true)");
        }
        java.nio.file.Files.createDirectories(cacheDir);
        java.nio.file.Files.write(cacheDir.resolve("snapshot.json"), file);
        return JitGateNative.publicKey(seed);
    }

    /** The key naming the service's public key, which the feed and the cache file must be signed with. */
    public static final String PUBLIC_KEY = "jitgate.service.public.key";

    /** The message to show for a denial, naming user, resource, action and the link to request it. */
    public String explain(String user, String resource, int actions, int code) {
        return JitGateNative.explain(handle, user, resource, actions, code);
    }

    /**
     * One decision for everything a query touches, in the core: each access needs its actions;
     * protected data read by a query that writes outside the data's zone needs {@link Action#EXPORT}
     * too; a base table read through a view of its own zone is covered by the view's decision
     * ({@link Access#via}); a single-use grant is consumed at the service by the first check that
     * relies on it.
     * Every protected access is audited with {@code operation} and {@code context}.
     *
     * @param context the engine's ids for the audit trail (query id, command hash, execution id)
     */
    public Verdict check(String user, List<Access> accesses, String operation, String context) {
        int n = accesses.size();
        String[] resources = new String[n];
        int[] actions = new int[n];
        boolean[] outputs = new boolean[n];
        String[] vias = new String[n];
        for (int i = 0; i < n; i++) {
            Access a = accesses.get(i);
            resources[i] = a.resource();
            actions[i] = a.actions();
            outputs[i] = a.output();
            vias[i] = a.via();
        }
        Verdict verdict = JitGateNative.check(handle, user, resources, actions, outputs, vias, operation, context);
        if (verdict == null) {
            return new Verdict(Decision.DENY_INTERNAL, "jitgate: the decision core failed; access denied", List.of());
        }
        return verdict;
    }

    /**
     * The id of an active grant that lets {@code user} do {@code actions} on {@code resource} now, or
     * null (no such grant, outside every zone, or unreadable), without deciding or recording
     * anything: for watching what a grant allowed earlier, such as an output stream it let a
     * client open, with {@link #grantLive} from then on.
     */
    public String coveringGrant(String user, String resource, int actions) {
        return JitGateNative.coveringGrant(handle, user, resource, actions);
    }

    /** True while the grant is known to this engine and inside its time window; false once revoked or expired. */
    public boolean grantLive(String grantId) {
        return JitGateNative.grantLive(handle, grantId);
    }

    /**
     * A row of the core's mapping table for an engine: {@code {input actions, output actions}} for
     * the engine's operation or plan node {@code name}, or null when the table has no such row.
     */
    public static int[] mapping(String engine, String name) {
        return JitGateNative.mapping(engine, name);
    }

    /**
     * Every row name of the core's table for {@code engine}, sorted; null when the engine has no
     * table (or the core could not answer). A plugin that reads its table whole at start can tell
     * a row the table lacks from a lookup that failed.
     */
    public static String[] mappingNames(String engine) {
        return JitGateNative.mappingNames(engine);
    }

    /**
     * Which fields of the operation {@code name} name what it touches, from the same row of the
     * core's table: {@code field=role} pairs, comma-separated ("" when the row gives none); null
     * when the row is unknown. The roles are the engine plugin's (documented in its table).
     */
    public static String fields(String engine, String name) {
        return JitGateNative.fields(engine, name);
    }

    /** This engine's numbers now; nothing counted once it is closed. */
    public PluginMetrics metrics() {
        return PluginMetrics.parse(JitGateNative.metrics(handle));
    }

    /**
     * The engine's release lines (Spark's "3.5", "4.0") whose plans or calls have the operation
     * {@code name}, comma-separated, from the same row of the core's table: "" when every line
     * has it; null when the row is unknown. A plugin's tests read it to hold each line they run
     * on to the rows that line needs.
     */
    public static String mappingLines(String engine, String name) {
        return JitGateNative.mappingLines(engine, name);
    }

    /**
     * The resources of {@code scheme} ({@code hdfs}, {@code hive}) whose context the service's
     * approvers wait for ({@link ContextReporter}); empty when this engine follows no service.
     *
     * @throws IllegalStateException when the service cannot be asked
     */
    public List<String> contextWanted(String scheme) {
        String[] wanted = JitGateNative.contextWanted(handle, scheme);
        if (wanted == null) {
            throw new IllegalStateException("jitgate: " + JitGateNative.lastError());
        }
        return List.of(wanted);
    }

    /**
     * Sends what the plugin learnt of {@code resource}: {@code about}, or why nothing could be
     * learnt ({@code error}, with {@code about} null).
     *
     * @throws IllegalStateException when the service did not take it
     */
    public void reportContext(String resource, ResourceContext about, String error) {
        ResourceContext c = about != null ? about : ResourceContext.NONE;
        if (!JitGateNative.reportContext(handle, resource, c.kind(), c.files(), c.directories(), c.bytes(),
                c.location(), error)) {
            throw new IllegalStateException("jitgate: " + JitGateNative.lastError());
        }
    }

    /** Stops this engine; its later decisions are denials ({@link Decision#DENY_CLOSED}). Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            synchronized (JitGate.class) {
                if (shared == this) {
                    shared = null;
                    JitGateMetrics.unregister();
                }
            }
            JitGateNative.close(handle);
        }
    }

    /**
     * The {@code hdfs:} resource of an absolute HDFS path as a plugin found it in a URI or a
     * command ({@code //lake//sales/}): one leading slash, as Hadoop's {@code Path} reads it.
     * Prefixing {@code hdfs:} to a path that starts with {@code //} would make
     * {@code hdfs://lake/sales}, whose {@code lake} the core reads as a NameNode's host name.
     *
     * @return null when {@code path} is not absolute
     */
    public static String hdfsResource(String path) {
        if (path == null || !path.startsWith("/")) {
            return null;
        }
        int start = 0;
        while (start < path.length() && path.charAt(start) == '/') {
            start++;
        }
        return "hdfs:/" + path.substring(start);
    }

    /** {@code key=value} lines of the {@code jitgate.*} keys, sorted; the core's config format. */
    static String serialize(Map<String, String> conf) {
        StringBuilder out = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(conf).entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            if (!key.startsWith(KEY_PREFIX) || value == null) {
                continue;
            }
            if (key.indexOf('=') >= 0 || hasLineBreak(key) || hasLineBreak(value)) {
                throw new IllegalArgumentException("jitgate: config key " + key
                        + " cannot be passed to the core (no '=' in keys, no line breaks anywhere)");
            }
            out.append(key).append('=').append(value.strip()).append('\n');
        }
        return out.toString();
    }

    private static boolean hasLineBreak(String s) {
        return s.indexOf('\n') >= 0 || s.indexOf('\r') >= 0;
    }
}
