package org.jitgate.hdfs;

/**
 * The jitgate resource for a path the NameNode checks: the bare absolute path, which the core reads
 * as {@code hdfs:<path>} (sparing a string concatenation on every NameNode call).
 *
 * <p>A snapshot path names the snapshot copy of a live path ({@code /lake/.snapshot/s1/sales} is
 * {@code /lake/sales} as it was), so it is checked as that live path: a zone's data stays protected
 * in its snapshots. The NameNode already strips {@code /.reserved/raw} and resolves
 * {@code /.reserved/.inodes/ID} before the check.
 */
final class HdfsResources {
    private static final String SNAPSHOT_DIR = ".snapshot";

    private HdfsResources() {
    }

    /**
     * @param path the path the NameNode passes, or null (its single-inode checks, e.g. per directory
     *     of a content summary, pass none)
     * @param components the path's components as the NameNode holds them, used when path is null
     * @throws IllegalArgumentException when neither names the path: the caller must deny
     */
    static String of(String path, byte[][] components) {
        if (path == null) {
            path = join(components);
        }
        if (path.isEmpty()) {
            return "/";
        }
        if (!path.contains(SNAPSHOT_DIR)) {
            return path;
        }
        StringBuilder live = new StringBuilder(path.length());
        String[] parts = path.split("/");
        for (int i = 0; i < parts.length; i++) {
            if (parts[i].isEmpty()) {
                continue;
            }
            if (parts[i].equals(SNAPSHOT_DIR)) {
                i++; // the snapshot's name
                continue;
            }
            live.append('/').append(parts[i]);
        }
        if (live.length() == 0) {
            live.append('/');
        }
        return live.toString();
    }

    private static String join(byte[][] components) {
        if (components == null) {
            throw new IllegalArgumentException("the NameNode named no path for this check");
        }
        StringBuilder p = new StringBuilder();
        for (byte[] c : components) {
            if (c != null && c.length > 0) {
                p.append('/').append(new String(c, java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        return p.length() == 0 ? "/" : p.toString();
    }
}
