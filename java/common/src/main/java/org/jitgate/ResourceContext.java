package org.jitgate;

/**
 * What a requested resource is, as a plugin tells its approvers ({@link ContextReporter}): an HDFS
 * path's kind, file and directory counts and size, or a Hive table's type and location. A count
 * of -1 and a null text are unknown.
 */
public record ResourceContext(String kind, long files, long directories, long bytes, String location) {
    /** Nothing known. */
    public static final ResourceContext NONE = new ResourceContext(null, -1, -1, -1, null);

    /** A path: {@code file} or {@code directory}, with what lies under it. */
    public static ResourceContext path(String kind, long files, long directories, long bytes) {
        return new ResourceContext(kind, files, directories, bytes, null);
    }

    /** A table or database: its type and where its data lives. */
    public static ResourceContext located(String kind, String location) {
        return new ResourceContext(kind, -1, -1, -1, location);
    }
}
