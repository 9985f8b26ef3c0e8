package org.jitgate.hdfs;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.apache.hadoop.ipc.Server;

/**
 * The NameNode RPC a permission check belongs to.
 *
 * <p>The operation name the NameNode hands the enforcer does not say what a call returns:
 * {@code getLocatedFileInfo} hands out block locations and tokens under a traverse check named like
 * a stat, {@code getBatchedListing} never sets the name (the enforcer sees the previous call's), and
 * some calls set none. The RPC method name does: Hadoop's protobuf engine stores it in the current
 * call before the NameNode method runs ({@code Server.Call#getDetailedMetricsName}). That getter
 * is package-private, so it is reached once through reflection; where it cannot be, {@link #method}
 * answers null and the enforcer falls back on the operation name.
 */
final class RpcCall {
    private static final MethodHandle METHOD_NAME = methodName();

    private RpcCall() {
    }

    private static MethodHandle methodName() {
        try {
            java.lang.reflect.Method m = Server.Call.class.getDeclaredMethod("getDetailedMetricsName");
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m).asType(MethodType.methodType(String.class, Object.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("jitgate: WARNING: cannot read the NameNode RPC method name (" + e
                    + "); calls that hand out block locations under a traverse check are recognised by their"
                    + " operation name only");
            return null;
        }
    }

    /**
     * The running RPC's method name ({@code getLocatedFileInfo}, {@code rename2}, ...), or null when
     * there is none to trust: no RPC, the name unreadable, or a call that is not a client RPC
     * (WebHDFS runs as {@code (external)}), for which the operation name must do.
     */
    static String method() {
        Server.Call call = Server.getCurCall().get();
        if (call == null || METHOD_NAME == null) {
            return null;
        }
        try {
            return rpcName((String) METHOD_NAME.invokeExact((Object) call));
        } catch (Throwable t) {
            return null;
        }
    }

    /** A method name, or null for one that names no client RPC. */
    static String rpcName(String name) {
        return name == null || name.isEmpty() || name.startsWith("(") ? null : name;
    }

    /** What identifies the running call: the RPC call, or the thread outside one (tests). */
    static Object identity() {
        Server.Call call = Server.getCurCall().get();
        return call != null ? call : Thread.currentThread();
    }
}
