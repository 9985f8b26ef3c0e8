package org.jitgate.hdfs;

import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.hdfs.server.namenode.INode;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AccessControlEnforcer;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributeProvider.AuthorizationContext;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.apache.hadoop.ipc.CallerContext;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
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

    JitGateEnforcer(AccessControlEnforcer hdfs, JitGate jitgate) {
        this.hdfs = hdfs;
        this.jitgate = jitgate;
    }

    @Override
    public void checkPermissionWithContext(AuthorizationContext ctx) throws AccessControlException {
        hdfs.checkPermissionWithContext(ctx);
        String operation = ctx.getOperationName();
        int actions = HdfsActions.of(ctx.getAncestorAccess(), ctx.getParentAccess(), ctx.getAccess(),
                ctx.getSubAccess(), operation);
        if (actions != 0) {
            enforce(ctx.getCallerUgi(), ctx.getPath(), ctx.getPathByNameArr(), actions, operation,
                    ctx.getCallerContext());
        }
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
        int actions = HdfsActions.of(ancestorAccess, parentAccess, access, subAccess, null);
        if (actions != 0) {
            enforce(callerUgi, path, pathByNameArr, actions, null, CallerContext.getCurrent());
        }
    }

    private void enforce(UserGroupInformation ugi, String path, byte[][] components, int actions,
                         String operation, CallerContext callerContext) throws AccessControlException {
        String user = null;
        String resource = null;
        int code;
        try {
            user = ugi.getShortUserName();
            resource = HdfsResources.of(path, components);
            if (jitgate == null) {
                throw new IllegalStateException("the jitgate provider was not started");
            }
            String context = callerContext == null ? null : callerContext.getContext();
            code = jitgate.decide(user, resource, actions, operation, context);
            if (!Decision.denied(code)) {
                return;
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

    private static AccessControlException failClosed(String user, String path, Throwable cause) {
        AccessControlException e = new AccessControlException("jitgate: denied " + user + " on hdfs:"
                + path + " because the check failed: " + cause);
        e.initCause(cause);
        return e;
    }
}
