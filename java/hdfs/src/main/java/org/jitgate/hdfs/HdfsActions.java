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
 *   operation          replaces a non-zero result with
 *   rename, rename2    TRANSFORM | SUBTREE
 *   mkdirs             WRITE
 *   delete             WRITE | SUBTREE
 * </pre>
 *
 * A check with no data access (traverse, stat, owner-only checks such as chmod) maps to 0: nothing
 * for jitgate to decide.
 */
final class HdfsActions {
    private HdfsActions() {
    }

    static int of(FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                  FsAction subAccess, String operation) {
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
        return bits == 0 ? 0 : refine(operation, bits);
    }

    private static int refine(String operation, int bits) {
        if (operation == null) {
            return bits;
        }
        switch (operation) {
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
