package org.jitgate.hdfs;

import org.apache.hadoop.fs.permission.FsAction;
import org.jitgate.Action;

/**
 * What one NameNode permission check asks of jitgate, as {@link Action} bits.
 *
 * <p>The NameNode describes a check by four optional {@link FsAction}s; the operation name, when the
 * context API gives one, then refines the result:
 *
 * <pre>
 *   check on           FsAction            jitgate bits
 *   access             implies READ        READ
 *   any of the four    implies WRITE       WRITE
 *   parentAccess       implies WRITE       + SUBTREE   (the entry itself is created, moved or removed)
 *   subAccess          any                 + SUBTREE   (the check covers the whole tree below)
 *   subAccess          READ, no WRITE      + READ      (content summary, snapshot diff)
 *
 *   RPC (or, where its name cannot be read, operation)   replaces a non-zero result with
 *   rename, rename2    TRANSFORM | SUBTREE
 *   mkdirs             WRITE
 *   delete             WRITE | SUBTREE
 *
 *   RPC (or, where its name cannot be read, operation)   makes a traverse-only check
 *   getBlockLocations, getLocatedFileInfo, getListing,    READ
 *   getBatchedListing (operation open, listStatus)
 * </pre>
 *
 * The last rows close calls that hand out block locations (and, for {@code getLocatedFileInfo},
 * block tokens: {@code open(PathHandle)}) while the NameNode checks only traversal: listing a file,
 * or asking for its located status. Any other check with no data access (traverse, stat, owner-only
 * checks such as chmod) maps to 0: nothing for jitgate to decide. docs/THREATS.md lists every
 * NameNode call and what it maps to.
 */
final class HdfsActions {
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
        if (bits == 0) {
            return handsOutData(rpc, operation) ? Action.READ : 0;
        }
        // The RPC's name where known: the NameNode leaves the previous call's operation name on a
        // handler thread for calls that set none (create, getBatchedListing in Hadoop 3.4).
        return refine(rpc != null ? rpc : operation, bits);
    }

    /**
     * Whether the call returns block locations, tokens or data of the path it checks.
     *
     * @param rpc the RPC's method name, null when unknown ({@link RpcCall#method})
     */
    static boolean handsOutData(String rpc, String operation) {
        if (rpc != null) {
            switch (rpc) {
                case "getBlockLocations":
                case "getLocatedFileInfo":
                case "getListing":
                case "getBatchedListing":
                    return true;
                default:
                    return false;
            }
        }
        return "open".equals(operation) || "listStatus".equals(operation);
    }

    /** @param call the RPC's method name, or else the operation name */
    private static int refine(String call, int bits) {
        if (call == null) {
            return bits;
        }
        switch (call) {
            case "rename":
            case "rename2":
                return Action.TRANSFORM | Action.SUBTREE;
            case "mkdirs":
                return Action.WRITE;
            case "delete":
                return Action.WRITE | Action.SUBTREE;
            default:
                return bits;
        }
    }

    private static boolean implies(FsAction granted, FsAction wanted) {
        return granted != null && granted.implies(wanted);
    }
}
