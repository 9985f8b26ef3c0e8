package org.jitgate.nnbench;

import java.util.concurrent.atomic.LongAdder;
import org.apache.hadoop.fs.permission.FsAction;
import org.apache.hadoop.hdfs.server.namenode.INode;
import org.apache.hadoop.hdfs.server.namenode.INodeAttributes;
import org.apache.hadoop.security.AccessControlException;
import org.apache.hadoop.security.UserGroupInformation;
import org.jitgate.hdfs.JitGateAttributeProvider;

/**
 * jitgate's NameNode plugin with a clock around each permission check and around HDFS's own check
 * inside it, so the time jitgate adds on the handler thread is measured directly rather than read
 * out of throughput figures that move by several percent from run to run; and it counts the path
 * components the NameNode decodes into Strings for it. The clocks add some 50 ns to each check;
 * throughput runs use the plain plugin.
 */
public final class TimedJitGateProvider extends JitGateAttributeProvider {
    static final LongAdder CHECKS = new LongAdder();
    static final LongAdder CHECK_NANOS = new LongAdder();
    static final LongAdder HDFS_NANOS = new LongAdder();

    /** Calls of getAttributes(String[]), and the path components the NameNode decoded for them. */
    static final LongAdder ATTRIBUTE_CALLS = new LongAdder();
    static final LongAdder DECODED_COMPONENTS = new LongAdder();

    static void reset() {
        CHECKS.reset();
        CHECK_NANOS.reset();
        HDFS_NANOS.reset();
        ATTRIBUTE_CALLS.reset();
        DECODED_COMPONENTS.reset();
    }

    /** Counts what Hadoop's plugin API made the NameNode decode (FSPermissionChecker#getINodeAttrs). */
    @Override
    public INodeAttributes getAttributes(String[] pathElements, INodeAttributes inode) {
        ATTRIBUTE_CALLS.increment();
        DECODED_COMPONENTS.add(pathElements.length);
        return inode;
    }

    @Override
    public AccessControlEnforcer getExternalAccessControlEnforcer(AccessControlEnforcer hdfs) {
        AccessControlEnforcer jitgate = super.getExternalAccessControlEnforcer(new Timed(hdfs, HDFS_NANOS, false));
        return new Timed(jitgate, CHECK_NANOS, true);
    }

    /** An enforcer that adds the time each check of {@code inner} takes to {@code nanos}. */
    private static final class Timed implements AccessControlEnforcer {
        private final AccessControlEnforcer inner;
        private final LongAdder nanos;
        private final boolean count;

        Timed(AccessControlEnforcer inner, LongAdder nanos, boolean count) {
            this.inner = inner;
            this.nanos = nanos;
            this.count = count;
        }

        @Override
        public void checkPermissionWithContext(AuthorizationContext ctx) throws AccessControlException {
            long start = System.nanoTime();
            try {
                inner.checkPermissionWithContext(ctx);
            } finally {
                done(start);
            }
        }

        @Override
        public void checkPermission(String fsOwner, String supergroup, UserGroupInformation callerUgi,
                                    INodeAttributes[] inodeAttrs, INode[] inodes, byte[][] pathByNameArr,
                                    int snapshotId, String path, int ancestorIndex, boolean doCheckOwner,
                                    FsAction ancestorAccess, FsAction parentAccess, FsAction access,
                                    FsAction subAccess, boolean ignoreEmptyDir) throws AccessControlException {
            long start = System.nanoTime();
            try {
                inner.checkPermission(fsOwner, supergroup, callerUgi, inodeAttrs, inodes, pathByNameArr, snapshotId,
                        path, ancestorIndex, doCheckOwner, ancestorAccess, parentAccess, access, subAccess,
                        ignoreEmptyDir);
            } finally {
                done(start);
            }
        }

        private void done(long start) {
            nanos.add(System.nanoTime() - start);
            if (count) {
                CHECKS.increment();
            }
        }
    }
}
