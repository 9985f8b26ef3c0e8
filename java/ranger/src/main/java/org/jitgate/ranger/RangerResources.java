package org.jitgate.ranger;

import java.util.Locale;
import org.apache.ranger.plugin.policyengine.RangerAccessResource;
import org.jitgate.JitGate;

/**
 * The jitgate resource a Ranger request names, by the service type of its service definition:
 *
 * <pre>
 *   hdfs  path=/lake/sales/orders              hdfs:/lake/sales/orders
 *   hive  database=Sales                       hive:sales
 *   hive  database=sales, table=Orders[, column=...]   hive:sales.orders (jitgate has no columns)
 *   hive  database=sales, udf=f                hive:sales (a function lives in its database)
 *   hive  url=hdfs://nn:8020/lake/sales/x      hdfs:/lake/sales/x (other schemes stay as they are:
 *                                              places outside every zone)
 * </pre>
 *
 * Anything else (another service type, Hive's global and hiveservice resources, a value that is a
 * list) has no jitgate resource: null, and the condition does not match.
 */
final class RangerResources {
    private RangerResources() {
    }

    static String of(String serviceType, RangerAccessResource resource) {
        if (resource == null || serviceType == null) {
            return null;
        }
        switch (serviceType) {
            case "hdfs":
                return hdfs(value(resource, "path"));
            case "hive":
                return hive(resource);
            default:
                return null;
        }
    }

    private static String hive(RangerAccessResource resource) {
        String url = value(resource, "url");
        if (url != null) {
            return url(url);
        }
        String database = value(resource, "database");
        if (database == null) {
            return null;
        }
        String table = value(resource, "table");
        String name = table == null ? database : database + "." + table;
        return "hive:" + name.toLowerCase(Locale.ROOT);
    }

    /** A Hive location: HDFS without its authority; a path without scheme is on the default (HDFS) filesystem. */
    private static String url(String url) {
        if (url.startsWith("/")) {
            return hdfs(url);
        }
        if (url.startsWith("hdfs://")) {
            int path = url.indexOf('/', "hdfs://".length());
            return hdfs(path < 0 ? "/" : url.substring(path));
        }
        if (url.startsWith("hdfs:/")) {
            return hdfs(url.substring("hdfs:".length()));
        }
        return url;
    }

    private static String hdfs(String path) {
        if (path == null || !path.startsWith("/")) {
            return null;
        }
        int end = path.length();
        while (end > 1 && path.charAt(end - 1) == '/') {
            end--;
        }
        return JitGate.hdfsResource(path.substring(0, end));
    }

    /** The element's single value; null when absent, empty, or several (Ranger allows lists). */
    private static String value(RangerAccessResource resource, String element) {
        Object v = resource.getValue(element);
        return v instanceof String && !((String) v).isEmpty() ? (String) v : null;
    }
}
