package org.jitgate.ranger;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.ranger.authorization.hadoop.config.RangerConfiguration;
import org.jitgate.JitGate;
import org.jitgate.PluginConfig;

/**
 * The {@code jitgate.*} keys for the engine and the Ranger service name for the audit context, from
 * two places, the later winning:
 * <ol>
 *   <li>the condition's {@code evaluatorOptions} in the service definition: cluster-wide, edited in
 *       Ranger Admin (e.g. {@code jitgate.service.url}, {@code jitgate.request.url});</li>
 *   <li>the host's own configuration: the Hadoop configuration the process loads by default
 *       (core-site.xml), the engine's site file ({@code hdfs-site.xml}, {@code hive-site.xml}),
 *       where an admin sets jitgate's keys for the engine's own plugin, then
 *       {@code ranger-<type>-security.xml} and {@code ranger-<type>-<service>-security.xml} from
 *       the classpath (host-local keys such as {@code jitgate.service.token.file},
 *       {@code jitgate.cache.dir}).</li>
 * </ol>
 * So Ranger Admin can fill in what a host leaves unset, but never point a host whose admin
 * configured jitgate at another service, cache or set of fallback zones.
 * The service name is the plugin's {@code ranger.plugin.<type>.service.name}.
 *
 * <p>Ranger builds an evaluator per condition on every policy download, so settings are read once
 * per service type and options. The engine itself is the JVM's ({@link JitGate#shared}): whichever
 * plugin opens it first configures it.
 */
final class PluginSettings {
    private static final Map<String, PluginSettings> LOADED = new ConcurrentHashMap<>();

    final Map<String, String> engine;
    final String serviceName;

    private PluginSettings(Map<String, String> engine, String serviceName) {
        this.engine = Map.copyOf(engine);
        this.serviceName = serviceName;
    }

    static PluginSettings of(String serviceType, Map<String, String> evaluatorOptions) {
        Map<String, String> options = evaluatorOptions == null ? Map.of() : evaluatorOptions;
        return LOADED.computeIfAbsent(serviceType + "\n" + new TreeMap<>(options),
                k -> load(serviceType, options, siteFile(serviceType)));
    }

    /** The engine's site file, where the host's admin sets jitgate's keys; null for other engines. */
    static String siteFile(String serviceType) {
        switch (serviceType) {
            case "hdfs":
                return "hdfs-site.xml";
            case "hive":
                return "hive-site.xml";
            default:
                return null;
        }
    }

    static PluginSettings load(String serviceType, Map<String, String> options, String siteFile) {
        PluginFiles files = new PluginFiles();
        if (siteFile != null) {
            files.addResourceIfReadable(siteFile);
        }
        files.addResourceIfReadable("ranger-" + serviceType + "-security.xml");
        String serviceName = files.get("ranger.plugin." + serviceType + ".service.name");
        if (serviceName != null && !serviceName.isBlank()) {
            files.addResourceIfReadable("ranger-" + serviceType + "-" + serviceName + "-security.xml");
        }
        PluginConfig config = PluginConfig.read("ranger-" + serviceType, options).with(files, files::get);
        return new PluginSettings(config.keys(), serviceName);
    }

    /** Ranger's configuration class, for its classpath lookup of the plugin's files. */
    private static final class PluginFiles extends RangerConfiguration {
    }
}
