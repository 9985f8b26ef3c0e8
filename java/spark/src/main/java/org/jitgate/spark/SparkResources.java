package org.jitgate.spark;

import java.net.URI;
import java.util.Locale;
import java.util.Set;
import org.apache.spark.sql.catalyst.TableIdentifier;
import org.apache.spark.sql.connector.catalog.CatalogPlugin;
import org.apache.spark.sql.connector.catalog.Identifier;
import org.jitgate.JitGate;

/**
 * jitgate resource names for the objects Spark plans name: catalog tables as {@code hive:db.table},
 * HDFS paths as {@code hdfs:/path}, and anything else under a scheme the core treats as outside
 * every zone.
 */
final class SparkResources {
    /** Spark's name for the session catalog, which is the Hive metastore. */
    static final String SESSION_CATALOG = "spark_catalog";
    /** Tables of other (V2) catalogs; the core treats the scheme as outside every zone. */
    static final String OTHER_CATALOG_SCHEME = "spark-catalog:";

    private SparkResources() {
    }

    /** {@code hive:db.table}, lower-case; an unqualified name is in {@code currentDatabase}. */
    static String table(TableIdentifier id, String currentDatabase) {
        String db = id.database().isDefined() ? id.database().get() : currentDatabase;
        return table(db, id.table());
    }

    static String table(String db, String table) {
        return ("hive:" + db + "." + table).toLowerCase(Locale.ROOT);
    }

    /** {@code hive:db} for a database of the session catalog (covers all its tables). */
    static String database(String db) {
        return ("hive:" + db).toLowerCase(Locale.ROOT);
    }

    /**
     * A V2 catalog's table: the session catalog's as {@code hive:db.table}; another catalog's
     * under its own name, which no zone names (its storage location is checked as a path).
     */
    static String table(CatalogPlugin catalog, Identifier id) {
        return table(catalog, id, Set.of());
    }

    /**
     * As {@link #table(CatalogPlugin, Identifier)}, where the catalogs named in
     * {@code metastoreCatalogs} are more catalogs over the session's Hive metastore (an Iceberg
     * or Hive V2 catalog the admin set up): their tables are the same {@code hive:db.table}.
     */
    static String table(CatalogPlugin catalog, Identifier id, Set<String> metastoreCatalogs) {
        String catalogName = catalog == null ? SESSION_CATALOG : catalog.name();
        String[] ns = id.namespace();
        if (isMetastore(catalogName, metastoreCatalogs) && ns.length == 1) {
            return table(ns[0], id.name());
        }
        StringBuilder b = new StringBuilder(OTHER_CATALOG_SCHEME).append(catalogName);
        for (String part : ns) {
            b.append('.').append(part);
        }
        return b.append('.').append(id.name()).toString().toLowerCase(Locale.ROOT);
    }

    /** A namespace of a V2 catalog, as {@link #database} for the session catalog (and the metastore's others). */
    static String namespace(CatalogPlugin catalog, String[] ns, Set<String> metastoreCatalogs) {
        String catalogName = catalog == null ? SESSION_CATALOG : catalog.name();
        if (isMetastore(catalogName, metastoreCatalogs) && ns.length == 1) {
            return database(ns[0]);
        }
        return (OTHER_CATALOG_SCHEME + catalogName + "." + String.join(".", ns)).toLowerCase(Locale.ROOT);
    }

    static boolean isMetastore(String catalogName, Set<String> metastoreCatalogs) {
        return SESSION_CATALOG.equalsIgnoreCase(catalogName)
                || metastoreCatalogs.contains(catalogName.toLowerCase(Locale.ROOT));
    }

    /**
     * The catalogs an admin names in {@code spark.jitgate.spark.metastore.catalogs} (comma
     * separated, lower-cased): more catalogs over the session's Hive metastore.
     */
    static Set<String> metastoreCatalogs(String value) {
        Set<String> out = new java.util.HashSet<>();
        for (String name : value == null ? new String[0] : value.split(",")) {
            if (!name.isBlank()) {
                out.add(name.trim().toLowerCase(Locale.ROOT));
            }
        }
        return Set.copyOf(out);
    }

    /**
     * A filesystem location: {@code hdfs://nn:8020/p} (and WebHDFS, the same namespace) becomes
     * {@code hdfs:/p}; {@code file:///x} becomes {@code file:/x}; other stores keep their URI.
     * A location without a scheme is on {@code defaultFs}.
     */
    static String path(URI uri, URI defaultFs) {
        String scheme = uri.getScheme();
        String authority = uri.getAuthority();
        if (scheme == null && defaultFs != null) {
            scheme = defaultFs.getScheme();
            authority = defaultFs.getAuthority();
        }
        String path = uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath();
        if (scheme == null) {
            return "file:" + path;
        }
        String s = scheme.toLowerCase(Locale.ROOT);
        if (s.equals("hdfs") || s.equals("webhdfs") || s.equals("swebhdfs")) {
            String resource = JitGate.hdfsResource(path);
            return resource != null ? resource : "hdfs:" + path; // relative: bad input to the core, denied
        }
        if (authority == null || authority.isEmpty()) {
            return s + ":" + path;
        }
        return s + "://" + authority + path;
    }
}
