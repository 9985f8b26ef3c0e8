package org.jitgate.hive;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HivePrivilegeObject;
import org.jitgate.JitGate;

/**
 * The jitgate resources a Hive privilege object names: {@code hive:db}, {@code hive:db.table},
 * {@code hdfs:/path}, or a place outside every zone ({@code file:/tmp/x}, {@code s3a://b/k}).
 */
final class HiveResources {
    private HiveResources() {
    }

    /**
     * The resources of {@code object}; empty when it names nothing jitgate governs (a built-in
     * function, a data connector, the global scope). {@code dfsCommand}: the object belongs to a
     * {@code dfs} command, whose bare paths are HDFS paths (other commands' are local files).
     */
    static List<String> of(HivePrivilegeObject object, boolean dfsCommand) {
        return of(object, dfsCommand, null);
    }

    /**
     * As {@link #of(HivePrivilegeObject, boolean)}, with the working directory a command's
     * relative paths lie in ({@code dfs}: the session's filesystem working directory; else
     * HiveServer2's own directory); without one, a relative path stays relative, which the core
     * refuses.
     */
    static List<String> of(HivePrivilegeObject object, boolean dfsCommand, java.net.URI workingDir) {
        String db = object.getDbname();
        String name = object.getObjectName();
        switch (object.getType()) {
            case DATABASE:
                return db == null ? List.of() : List.of(hive(db, null));
            case TABLE_OR_VIEW:
            case PARTITION:
            case COLUMN:
                // Partitions and columns are under their table: a grant names the table.
                return db == null || name == null ? List.of() : List.of(hive(db, name));
            case DFS_URI:
                return name == null ? List.of() : List.of(dfs(name));
            case LOCAL_URI:
                return name == null ? List.of() : List.of(local(name));
            case COMMAND_PARAMS:
                return commandPaths(object.getCommandParams(), dfsCommand, workingDir);
            default:
                // A permanent function of a zone's database is the zone's; built-in and temporary
                // functions, connectors, schedules and the like carry no database.
                return db == null ? List.of() : List.of(hive(db, name));
        }
    }

    /** {@code hive:db} or {@code hive:db.table}; Hive names are case-insensitive. */
    static String hive(String db, String table) {
        String base = "hive:" + db.toLowerCase(Locale.ROOT);
        return table == null ? base : base + "." + table.toLowerCase(Locale.ROOT);
    }

    /**
     * A location on the cluster's filesystem: {@code hdfs://nn:8020/lake/x} and {@code /lake/x}
     * become {@code hdfs:/lake/x}; other filesystems ({@code s3a://b/k}, {@code file:/x}) stay
     * as they are, places outside every zone.
     */
    static String dfs(String uri) {
        if (uri.startsWith("/")) {
            return JitGate.hdfsResource(uri);
        }
        int colon = uri.indexOf(':');
        if (colon > 0 && uri.substring(0, colon).equalsIgnoreCase("hdfs")) {
            String rest = uri.substring(colon + 1);
            if (rest.startsWith("//")) {
                int slash = rest.indexOf('/', 2);
                rest = slash < 0 ? "/" : rest.substring(slash);
            }
            String resource = JitGate.hdfsResource(rest);
            return resource == null ? uri : resource;
        }
        return uri;
    }

    /** A location on HiveServer2's local disk, outside every zone: {@code file:/path}. */
    static String local(String uri) {
        if (uri.startsWith("/")) {
            return "file:" + uri;
        }
        if (uri.regionMatches(true, 0, "file://", 0, 7)) {
            int slash = uri.indexOf('/', 7);
            return slash < 0 ? "file:/" : "file:" + uri.substring(slash);
        }
        return uri;
    }

    /** The first word of ADD and its kin: what kind of resource the rest are. */
    private static final java.util.Set<String> ADD_KINDS =
            java.util.Set.of("file", "files", "jar", "jars", "archive", "archives");

    /**
     * The places among a command's arguments (flags are not). A word that is neither absolute
     * nor a URI is a path relative to the working directory, as the filesystem reads it
     * ({@code ../../lake/sales} from {@code /user/bob} is {@code /lake/sales}); a word that is no
     * path at all ({@code 3} of {@code -setrep}) becomes a harmless place below it.
     */
    private static List<String> commandPaths(List<String> params, boolean dfsCommand, java.net.URI workingDir) {
        List<String> out = new ArrayList<>();
        if (params == null) {
            return out;
        }
        for (int i = 0; i < params.size(); i++) {
            String p = params.get(i);
            if (p == null || p.isEmpty() || p.startsWith("-")
                    || (!dfsCommand && i == 0 && ADD_KINDS.contains(p.toLowerCase(Locale.ROOT)))) {
                continue; // a flag, or what ADD adds (FILE, JAR, ARCHIVE)
            }
            if (p.startsWith("/")) {
                out.add(dfsCommand ? dfs(p) : local(p));
            } else if (p.matches("[A-Za-z][A-Za-z0-9+.-]*:/.*")) {
                out.add(p.regionMatches(true, 0, "file:", 0, 5) ? local(p) : dfs(p));
            } else if (workingDir == null || workingDir.getPath() == null) {
                out.add(p); // relative with nowhere to resolve it: bad input to the core, refused
            } else {
                String path = java.nio.file.Path.of(workingDir.getPath(), p).normalize().toString();
                boolean local = workingDir.getScheme() == null || workingDir.getScheme().equalsIgnoreCase("file");
                out.add(local ? local(path) : dfs(path));
            }
        }
        return out;
    }
}
