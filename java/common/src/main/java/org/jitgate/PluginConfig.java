package org.jitgate;

import java.net.InetAddress;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;

/**
 * A plugin's {@code jitgate.*} keys (docs/DESIGN.md, "Plugin configuration keys"), read from its
 * engine's configuration: the one place every plugin takes them from, so a key, the plugin's
 * name and the host name in audit events mean the same in each. The engine's configuration comes
 * as its entries and a lookup of values, so this class needs no engine on the classpath.
 *
 * <p>What the keys say is judged by the core when the engine opens: an unknown key, a bad value,
 * or a service URL without the service's public key stops the opening with the core's message,
 * and nothing is decided (fail closed).
 */
public final class PluginConfig {
    /** Names the plugin in audit events; defaults to the name the plugin reads its keys with. */
    public static final String PLUGIN_KEY = "jitgate.plugin";
    /** The host audit events carry; defaults to this machine's name ({@link #hostName()}). */
    public static final String HOST_KEY = "jitgate.host";

    private final String plugin;
    private final SortedMap<String, String> keys;

    private PluginConfig(String plugin, SortedMap<String, String> keys) {
        this.plugin = plugin;
        this.keys = keys;
    }

    /** The {@code jitgate.*} keys of {@code conf} for the plugin named {@code plugin}. */
    public static PluginConfig read(String plugin, Map<String, String> conf) {
        return read(plugin, "", conf.entrySet(), conf::get);
    }

    /**
     * The {@code jitgate.*} keys among {@code entries}, each with the value {@code lookup} gives it:
     * the engine's own lookup, such as Hadoop's {@code Configuration.get}, which expands the
     * {@code ${var}} references its entries hold as written.
     */
    public static PluginConfig read(String plugin, Iterable<Map.Entry<String, String>> entries,
                                    UnaryOperator<String> lookup) {
        return read(plugin, "", entries, lookup);
    }

    /**
     * As {@link #read(String, Map)} for an engine that passes on only keys of its own prefix
     * (Spark: {@code spark-submit --conf} and spark-defaults.conf take {@code spark.*} keys):
     * {@code enginePrefix + "jitgate.X"} sets {@code jitgate.X}, and wins over a plain
     * {@code jitgate.X} in the same configuration.
     */
    public static PluginConfig read(String plugin, String enginePrefix, Map<String, String> conf) {
        return read(plugin, enginePrefix, conf.entrySet(), conf::get);
    }

    private static PluginConfig read(String plugin, String enginePrefix,
                                     Iterable<Map.Entry<String, String>> entries, UnaryOperator<String> lookup) {
        Map<String, String> plain = new HashMap<>();
        Map<String, String> prefixed = new HashMap<>();
        String engineKeys = enginePrefix + JitGate.KEY_PREFIX;
        for (Map.Entry<String, String> e : entries) {
            String key = e.getKey();
            if (key.startsWith(JitGate.KEY_PREFIX)) {
                putValue(plain, key, lookup.apply(key));
            } else if (!enginePrefix.isEmpty() && key.startsWith(engineKeys)) {
                putValue(prefixed, key.substring(enginePrefix.length()), lookup.apply(key));
            }
        }
        SortedMap<String, String> keys = new TreeMap<>(plain);
        keys.putAll(prefixed);
        return new PluginConfig(plugin, keys);
    }

    /**
     * These keys with those of a second source on top, read as {@link #read(String, Iterable,
     * UnaryOperator)} does: where both set a key, the second one's value wins. For a plugin
     * configured in two places, such as Ranger's policy condition (Ranger Admin, then the host).
     */
    public PluginConfig with(Iterable<Map.Entry<String, String>> entries, UnaryOperator<String> lookup) {
        SortedMap<String, String> merged = new TreeMap<>(keys);
        merged.putAll(read(plugin, entries, lookup).keys);
        return new PluginConfig(plugin, merged);
    }

    private static void putValue(Map<String, String> keys, String key, String value) {
        if (value != null) {
            keys.put(key, value);
        }
    }

    /**
     * The keys as the core takes them, sorted: those the configuration set, with
     * {@value #PLUGIN_KEY} and {@value #HOST_KEY} filled in when it set neither.
     */
    public SortedMap<String, String> keys() {
        SortedMap<String, String> out = new TreeMap<>(keys);
        out.putIfAbsent(PLUGIN_KEY, plugin);
        if (!out.containsKey(HOST_KEY)) {
            out.put(HOST_KEY, hostName());
        }
        return Collections.unmodifiableSortedMap(out);
    }

    /**
     * The engine of this JVM ({@link JitGate#shared}), opened with these keys if no plugin opened
     * it before.
     *
     * @throws IllegalStateException when the core refuses the keys, with its reason
     * @throws IllegalArgumentException when a key or value cannot be passed to the core
     */
    public JitGate shared() {
        return JitGate.shared(keys());
    }

    /** This machine's name as Java resolves it, else {@code $HOSTNAME}, else {@code localhost}. */
    static String hostName() {
        return hostName(() -> InetAddress.getLocalHost().getHostName(), System.getenv("HOSTNAME"));
    }

    static String hostName(Callable<String> resolved, String environment) {
        try {
            return resolved.call();
        } catch (Exception e) {
            return environment == null || environment.isEmpty() ? "localhost" : environment;
        }
    }
}
