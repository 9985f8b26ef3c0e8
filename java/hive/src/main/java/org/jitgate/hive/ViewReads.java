package org.jitgate.hive;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.hive.ql.QueryPlan;
import org.apache.hadoop.hive.ql.hooks.Entity;
import org.apache.hadoop.hive.ql.hooks.ExecuteWithHookContext;
import org.apache.hadoop.hive.ql.hooks.HookContext;
import org.apache.hadoop.hive.ql.hooks.ReadEntity;
import org.apache.hadoop.hive.ql.hooks.WriteEntity;
import org.apache.hadoop.hive.ql.metadata.Table;
import org.apache.hadoop.hive.ql.security.authorization.plugin.HiveAccessControlException;
import org.apache.hadoop.hive.ql.session.SessionState;
import org.jitgate.Access;
import org.jitgate.JitGate;
import org.jitgate.Verdict;

/**
 * The tables a query reads through views, decided before it runs. HiveServer2 hands the
 * authorizer only the views a query names, never the tables under them, so a view outside a zone
 * over zone tables was a way around the zone. This pre-execution hook (the authorizer installs it
 * in {@code hive.exec.pre.hooks}, which sessions cannot set) puts those tables to the core, each
 * with the view it is read through: the core lets a view's grant cover its base tables in the
 * view's own zone, and asks anything else for the table's own grant, export included when the
 * query writes outside the table's zone.
 */
public final class ViewReads implements ExecuteWithHookContext {
    @Override
    public void run(HookContext ctx) throws Exception {
        List<Access> accesses = new ArrayList<>();
        String operation = ctx.getOperationName();
        int[] row = HiveAccesses.CORE_TABLE.apply(operation == null ? "" : operation);
        for (ReadEntity in : ctx.getInputs()) {
            if (in.isDirect() || in.getTable() == null
                    || (in.getType() != Entity.Type.TABLE && in.getType() != Entity.Type.PARTITION)) {
                continue;
            }
            String table = HiveResources.hive(in.getTable().getDbName(), in.getTable().getTableName());
            // unmapped (0) is what the core denies inside a zone
            accesses.add(Access.throughView(table, row == null ? 0 : row[0], nearestView(in)));
        }
        if (accesses.isEmpty()) {
            return;
        }
        for (WriteEntity out : ctx.getOutputs()) {
            if (out.isTempURI() || out.isDummy()) {
                continue; // HiveServer2's own scratch space for the result the user fetches
            }
            Table t = out.getTable();
            if (t != null) {
                accesses.add(Access.output(HiveResources.hive(t.getDbName(), t.getTableName()),
                        row == null ? 0 : row[1]));
            } else if (out.getType() == Entity.Type.DFS_DIR || out.getType() == Entity.Type.LOCAL_DIR) {
                accesses.add(Access.output(out.getType() == Entity.Type.LOCAL_DIR
                        ? HiveResources.local(out.getD().toString()) : HiveResources.dfs(out.getD().toString()),
                        row == null ? 0 : row[1]));
            }
        }
        SessionState session = SessionState.get();
        String user = session != null && session.getAuthenticator() != null
                ? session.getAuthenticator().getUserName() : ctx.getUserName();
        QueryPlan plan = ctx.getQueryPlan();
        String context = JitGateAuthorizer.context(plan == null ? null : plan.getQueryId(),
                plan == null ? null : plan.getQueryString());
        Verdict verdict = JitGate.shared(JitGateAuthorizer.engineConfig(ctx.getConf()))
                .check(user, accesses, operation, context);
        if (verdict.denied()) {
            String message = verdict.message();
            throw new HiveAccessControlException(message == null || message.isEmpty()
                    ? "jitgate: denied " + operation + " through a view for " + user : message);
        }
        if (!verdict.grants().isEmpty() && plan != null) {
            QueryWatch.watch(JitGate.shared(JitGateAuthorizer.engineConfig(ctx.getConf())), plan.getQueryId(),
                    verdict.grants(), session);
        }
    }

    /** {@code hive:db.view} of the nearest view {@code in} is read through, or null. */
    private static String nearestView(ReadEntity in) {
        if (in.getParents() == null) {
            return null;
        }
        for (ReadEntity parent : in.getParents()) {
            Table t = parent.getTable();
            if (t != null && t.isView()) {
                return HiveResources.hive(t.getDbName(), t.getTableName());
            }
        }
        return null;
    }
}
