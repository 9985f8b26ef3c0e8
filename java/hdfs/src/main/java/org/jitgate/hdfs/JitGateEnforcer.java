package org.jitgate.hdfs;

import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.hdfs.server.namenode.INode;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AccessControlEnforcer;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AuthorizationContext;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.apache.hadoop.ipc.CallerContext;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
import org.jitgate.Action;
import org.jitgate.Decision;
import org.jitgate.JitGate;

/**
 * The NameNode's permission check with jitgate's grant check added on top.
 *
 * <p>A grant is an extra requirement inside a zone, never a replacement for HDFS permissions: every
 * check first runs the NameNode's own enforcer (permission bits, ACLs, sticky bit) unchanged, and
 * only a call that passes it is put to jitgate. So a grant cannot open a file HDFS would refuse, a
 * user HDFS refuses is not sent to request a grant that would not help, and jitgate's audit trail
 * records only calls that really proceed (or that jitgate stopped).
 *
 * <p>Limits: the HDFS superuser (and {@code dfs.namenode.authorization.provider.bypass.users}) never
 * reaches an enforcer, so jitgate does not gate them. Checks are made at the NameNode: an input
 * stream keeps reading the blocks whose locations it fetched while its grant was active (see
 * {@code JitGateHdfsTest#revokeDeniesNextOpen}).
 *
 * <p>Fail closed: anything going wrong on jitgate's side becomes an {@link AccessControlException}.
 */
final class JitGateEnforcer implements AccessControlEnforcer {
    private final AccessControlEnforcer hdfs;
    private final JitGate jitgate;
    /** Output streams opened under a grant, stopped when it ends; null in unit tests. */
    private final Writers writers;

    JitGateEnforcer(AccessControlEnforcer hdfs, JitGate jitgate) {
        this(hdfs, jitgate, null);
    }

    JitGateEnforcer(AccessControlEnforcer hdfs, JitGate jitgate, Writers writers) {
        this.hdfs = hdfs;
        this.jitgate = jitgate;
        this.writers = writers;
    }

    @Override
    public void checkPermissionWithContext(AuthorizationContext ctx) throws AccessControlException {
        hdfs.checkPermissionWithContext(ctx);
        check(ctx.getCallerUgi(), ctx.getPath(), ctx.getPathByNameArr(), ctx.getAncestorAccess(),
                ctx.getParentAccess(), ctx.getAccess(), ctx.getSubAccess(), ctx.getOperationName(),
                ctx.getCallerContext());
    }

    @Override
    public void checkPermission(String fsOwner, String supergroup, UserGroupInformation callerUgi,
                                INodeAttributes[] inodeAttrs, INode[] inodes, byte[][] pathByNameArr,
                                int snapshotId, String path, int ancestorIndex, boolean doCheckOwner,
                                FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                                FsAction subAccess, boolean ignoreEmptyDir)
            throws AccessControlException {
        hdfs.checkPermission(fsOwner, supergroup, callerUgi, inodeAttrs, inodes, pathByNameArr,
                snapshotId, path, ancestorIndex, doCheckOwner, ancestorAccess, parentAccess, access,
                subAccess, ignoreEmptyDir);
        check(callerUgi, path, pathByNameArr, ancestorAccess, parentAccess, access, subAccess, null,
                CallerContext.getCurrent());
    }

    private void check(UserGroupInformation ugi, String path, byte[][] components, FsAction ancestorAccess,
                       FsAction parentAccess, FsAction access, FsAction subAccess, String operation,
                       CallerContext callerContext) throws AccessControlException {
        String rpc = RpcCall.method();
        if (rpc != null ? rpc.equals("createSymlink") : "createSymlink".equals(operation)) {
            throw symlinkRefused(ugi, path);
        }
        int actions;
        try {
            actions = HdfsActions.of(ancestorAccess, parentAccess, access, subAccess, operation, rpc);
        } catch (Throwable t) {
            throw failClosed(ugi.getShortUserName(), path, t);
        }
        if (actions == 0) {
            return;
        }
        Move move = Move.of(rpc, operation, ancestorAccess, parentAccess, access);
        String context = callerContext == null ? null : callerContext.getContext();
        if (move == null) {
            int code = enforce(ugi, path, components, actions, operation, context);
            if (code == Decision.ALLOW && writers != null && path != null && opensForWrite(rpc, operation, actions)) {
                writers.opened(path, ugi.getShortUserName());
            }
            return;
        }
        // A move's source and destination come in two checks of one call; the second decides both.
        switch (move) {
            case FIRST:
                enforce(ugi, path, components, actions, operation, context);
                MOVING.set(new Moving(RpcCall.identity(), path, components));
                break;
            case RENAME_DESTINATION:
                enforce(ugi, path, components, actions, operation, context);
                enforceMove(ugi, MOVING.get(), path, components, Action.TRANSFORM, operation, context, true);
                MOVING.remove();
                break;
            case CONCAT_SOURCE:
                enforceMove(ugi, MOVING.get(), path, components, Action.READ, operation, context, false);
                break;
            default:
                throw new IllegalStateException(move.toString());
        }
    }

    /** The two checks of a move, and which of them this is. */
    enum Move {
        /** A rename's source, or a concat's target: remembered for the checks that follow. */
        FIRST,
        /** A rename's destination: the source moves there. */
        RENAME_DESTINATION,
        /** A concat source's read: it moves into the target. */
        CONCAT_SOURCE;

        static Move of(String rpc, String operation, FsAction ancestorAccess, FsAction parentAccess,
                       FsAction access) {
            boolean rename = rpc != null ? rpc.equals("rename") || rpc.equals("rename2") : "rename".equals(operation);
            boolean concat = rpc != null ? rpc.equals("concat") : "concat".equals(operation);
            if (rename && parentAccess != null && ancestorAccess == null) {
                return FIRST;
            }
            if (rename && ancestorAccess != null) {
                return RENAME_DESTINATION;
            }
            if (concat && access == FsAction.WRITE) {
                return FIRST;
            }
            if (concat && access == FsAction.READ) {
                return CONCAT_SOURCE;
            }
            return null;
        }
    }

    private record Moving(Object call, String path, byte[][] components) {
    }

    /** The first path of the move the running call makes; an RPC handler serves one call at a time. */
    private static final ThreadLocal<Moving> MOVING = new ThreadLocal<>();

    /**
     * Decides moving {@code from} (remembered by this call's first check) to the path of this check,
     * or the reverse when {@code fromFirst} is false (a concat source moves into the target).
     */
    private void enforceMove(UserGroupInformation ugi, Moving first, String path, byte[][] components, int actions,
                             String operation, String context, boolean fromFirst) throws AccessControlException {
        String user = null;
        String source = null;
        String destination = null;
        int code;
        try {
            user = ugi.getShortUserName();
            if (first == null || first.call() != RpcCall.identity()) {
                throw new IllegalStateException("the first check of this " + operation + " was not seen");
            }
            String remembered = HdfsResources.of(first.path(), first.components());
            String here = HdfsResources.of(path, components);
            source = fromFirst ? remembered : here;
            destination = fromFirst ? here : remembered;
            if (jitgate == null) {
                throw new IllegalStateException("the jitgate provider was not started");
            }
            code = jitgate.decideMove(user, source, destination, actions, operation, context);
            if (!Decision.denied(code)) {
                return;
            }
        } catch (Throwable t) {
            throw failClosed(user, path, t);
        }
        String message;
        try {
            message = jitgate.explainMove(user, source, destination, actions, code);
        } catch (Throwable t) {
            message = null;
        }
        throw message == null || message.isEmpty() ? denial(user, source, actions, code)
                : new AccessControlException(message);
    }

    /** A create or append: the client leaves with an output stream the NameNode will not check again. */
    private static boolean opensForWrite(String rpc, String operation, int actions) {
        if ((actions & Action.WRITE) == 0) {
            return false;
        }
        String call = rpc != null ? rpc : operation;
        return "create".equals(call) || "append".equals(call);
    }

    /** Returns the (allowing) code, or throws the denial. */
    private int enforce(UserGroupInformation ugi, String path, byte[][] components, int actions,
                        String operation, String context) throws AccessControlException {
        String user = null;
        String resource = null;
        int code;
        try {
            user = ugi.getShortUserName();
            resource = HdfsResources.of(path, components);
            if (jitgate == null) {
                throw new IllegalStateException("the jitgate provider was not started");
            }
            code = jitgate.decide(user, resource, actions, operation, context);
            if (!Decision.denied(code)) {
                return code;
            }
        } catch (Throwable t) {
            throw failClosed(user, path, t);
        }
        throw denial(user, resource, actions, code);
    }

    private AccessControlException denial(String user, String resource, int actions, int code) {
        String message;
        try {
            message = jitgate.explain(user, resource, actions, code);
        } catch (Throwable t) {
            message = null;
        }
        if (message == null || message.isEmpty()) {
            message = "jitgate: " + user + " may not access " + resource + " (decision " + code + ")";
        }
        return new AccessControlException(message);
    }

    /**
     * The NameNode shows an enforcer a new link's path, never its target, so jitgate cannot tell a
     * link into a zone from any other: it refuses them all (HDFS itself disables symlinks unless
     * the NameNode's JVM enabled them). Reading or writing through an existing link is decided on
     * its target, since the client resolves the link and calls again with the target's path.
     */
    private static AccessControlException symlinkRefused(UserGroupInformation ugi, String path) {
        return new AccessControlException("jitgate: " + ugi.getShortUserName() + " may not create the symlink hdfs:"
                + path + " (jitgate cannot see a link's target at the NameNode, so it refuses every new link)");
    }

    private static AccessControlException failClosed(String user, String path, Throwable cause) {
        AccessControlException e = new AccessControlException("jitgate: denied " + user + " on hdfs:"
                + path + " because the check failed: " + cause);
        e.initCause(cause);
        return e;
    }
}
