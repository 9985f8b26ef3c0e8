package org.jitgate.hdfs;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.apache.hadoop.fs.permission.FsAction;
import org.jitgate.Action;
import org.jitgate.JitGate;

/**
 * What one NameNode permission check asks of jitgate, as {@link Action} bits.
 *
 * <p>The NameNode describes a check by four optional {@link FsAction}s, read here:
 *
 * <pre>
 *   check on           FsAction            jitgate bits
 *   access             implies READ        READ
 *   any of the four    implies WRITE       WRITE
 *   parentAccess       implies WRITE       + SUBTREE   (the entry itself is created, moved or removed)
 *   subAccess          any                 + SUBTREE   (the check covers the whole tree below)
 *   subAccess          READ, no WRITE      + READ      (content summary, snapshot diff)
 * </pre>
 *
 * The call's name (its RPC method's, or where that cannot be read the check's operation name) then
 * refines the result by the core's table {@code src/mapping/hdfs.tsv}: a call with an output row
 * (rename, rename2, mkdirs, delete) asks that instead of a non-zero result; a call with an input row
 * asks that under a traverse-only check: the calls that hand out block locations (and, for
 * {@code getLocatedFileInfo}, block tokens: {@code open(PathHandle)}) or listings while the
 * NameNode checks only traversal. Any other check with no data access (traverse, stat, owner-only
 * checks such as chmod) maps to 0: nothing for jitgate to decide. docs/THREATS.md lists every
 * NameNode call and what it maps to.
 */
final class HdfsActions {
    /** A call's row of the core's table: what it asks under a traverse-only check, and instead of its FsActions. */
    record Row(int traverseOnly, int instead) {
    }

    private static final Row NONE = new Row(0, 0);

    /**
     * The core's table, read whole when the class loads (the provider's start): a table that
     * cannot be read stops the start, so no call ever goes unrefined because a lookup failed.
     */
    private static final Map<String, Row> ROWS = read(JitGate.mappingNames("hdfs"), JitGate::mapping,
            JitGate::fields);

    private HdfsActions() {
    }

    static int of(FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                  FsAction subAccess, String operation) {
        return of(ancestorAccess, parentAccess, access, subAccess, operation, null);
    }

    /** @param rpc the NameNode RPC's method name, or null when it cannot be read */
    static int of(FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                  FsAction subAccess, String operation, String rpc) {
        int bits = 0;
        if (implies(access, FsAction.READ)) {
            bits |= Action.READ;
        }
        if (implies(access, FsAction.WRITE) || implies(parentAccess, FsAction.WRITE)
                || implies(ancestorAccess, FsAction.WRITE) || implies(subAccess, FsAction.WRITE)) {
            bits |= Action.WRITE;
        }
        if (implies(parentAccess, FsAction.WRITE)) {
            bits |= Action.SUBTREE;
        }
        if (subAccess != null) {
            bits |= Action.SUBTREE;
            if (!subAccess.implies(FsAction.WRITE) && subAccess.implies(FsAction.READ)) {
                bits |= Action.READ;
            }
        }
        // The RPC's name where known: the NameNode leaves the previous call's operation name on a
        // handler thread for calls that set none (create, getBatchedListing in Hadoop 3.4).
        Row row = row(rpc != null ? rpc : operation);
        if (bits == 0) {
            return row.traverseOnly();
        }
        return row.instead() != 0 ? row.instead() : bits;
    }

    private static Row row(String call) {
        return call == null ? NONE : ROWS.getOrDefault(call, NONE);
    }

    /** The rows of the table {@code names} lists, each read by {@code mapping} and {@code fields}. */
    static Map<String, Row> read(String[] names, BiFunction<String, String, int[]> mapping,
                                 BiFunction<String, String, String> fields) {
        if (names == null || names.length == 0) {
            throw new IllegalStateException("jitgate: the core's hdfs mapping table could not be read");
        }
        Map<String, Row> rows = new HashMap<>();
        for (String call : names) {
            int[] actions = mapping.apply("hdfs", call);
            String spec = fields.apply("hdfs", call);
            if (actions == null || actions.length != 2 || spec == null) {
                throw new IllegalStateException("jitgate: the core's hdfs mapping table could not be read at " + call);
            }
            boolean subtree = List.of(spec.split(",")).contains("scope=subtree");
            int instead = actions[1] == 0 || !subtree ? actions[1] : actions[1] | Action.SUBTREE;
            rows.put(call, new Row(actions[0], instead));
        }
        return Map.copyOf(rows);
    }

    /** How many calls the table refines: reading it makes the class load, at the provider's start. */
    static int rows() {
        return ROWS.size();
    }

    private static boolean implies(FsAction granted, FsAction wanted) {
        return granted != null && granted.implies(wanted);
    }
}
