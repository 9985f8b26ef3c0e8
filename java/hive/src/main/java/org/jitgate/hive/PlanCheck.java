package org.jitgate.hive;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.Path;
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
 * The second check of a Hive query, on its compiled plan, for what HiveServer2 never hands the
 * authorizer: the tables it reads through views (the authorizer sees only the views it names),
 * and where the tables and partitions it reads and writes keep their files. Run as a
 * pre-execution hook, which the authorizer installs in {@code hive.exec.pre.hooks} (a key
 * sessions cannot set), so a refusal comes before anything runs.
 *
 * <p>Each table read through a view goes to the core with the nearest such view: a view's grant
 * covers its base tables in its own zone, anything else needs the table's own grant. Each
 * location is a path the query reads or writes: a table in a database outside every zone whose
 * files lie inside an {@code hdfs:} zone is that zone's data, and zone rows written to files
 * outside their zone need export.
 */
public final class PlanCheck implements ExecuteWithHookContext {
    @Override
    public void run(HookContext ctx) throws Exception {
        String operation = ctx.getOperationName();
        int[] row = HiveAccesses.CORE_TABLE.apply(operation == null ? "" : operation);
        List<Access> accesses = accesses(ctx.getInputs(), ctx.getOutputs(), row);
        if (accesses.isEmpty()) {
            return;
        }
        SessionState session = SessionState.get();
        String user = session != null && session.getAuthenticator() != null
                ? session.getAuthenticator().getUserName() : ctx.getUserName();
        QueryPlan plan = ctx.getQueryPlan();
        String context = JitGateAuthorizer.context(plan == null ? null : plan.getQueryId(),
                plan == null ? null : plan.getQueryString());
        // the authorizer opened it; its configuration (a walk of every HiveConf key) is built only if not
        JitGate engine = JitGate.shared(() -> JitGateAuthorizer.config(ctx.getConf()).keys());
        Verdict verdict = engine.check(user, accesses, operation, context);
        if (verdict.denied()) {
            String message = verdict.message();
            throw new HiveAccessControlException(message == null || message.isEmpty()
                    ? "jitgate: denied " + operation + " for " + user + " (decision " + verdict.code() + ")" : message);
        }
        if (!verdict.grants().isEmpty() && plan != null) {
            QueryWatch.watch(engine, plan.getQueryId(), verdict.grants(), session);
        }
    }

    /**
     * What the authorizer did not see, for the core: tables read through views, the storage of
     * every table and partition read or written, and, when it reads any, the query's outputs
     * (where the rows go decides whether they leave their zone).
     * {@code row}: the operation's actions in the core's Hive table, or null (none: denied in a zone).
     */
    static List<Access> accesses(Set<ReadEntity> inputs, Set<WriteEntity> outputs, int[] row) {
        int read = row == null ? 0 : row[0];
        int write = row == null ? 0 : row[1];
        // A query that writes somewhere puts its tables read to the core again with where it
        // writes: rows written into files outside their zone need export, even into a table of
        // the zone (the authorizer saw the tables, not their files).
        boolean writes = outputs.stream().anyMatch(w -> !w.isTempURI() && !w.isDummy());
        List<Access> out = new ArrayList<>();
        for (ReadEntity in : inputs) {
            if (in.isDummy() || in.getTable() == null
                    || (in.getType() != Entity.Type.TABLE && in.getType() != Entity.Type.PARTITION)) {
                continue;
            }
            Table t = in.getTable();
            String via = in.isDirect() ? null : nearestView(in);
            if (!in.isDirect() || (writes && in.getType() == Entity.Type.TABLE)) {
                out.add(new Access(HiveResources.hive(t.getDbName(), t.getTableName()), read, false, via));
            }
            Path location = in.getType() == Entity.Type.PARTITION && in.getPartition() != null
                    ? in.getPartition().getDataLocation() : t.isView() ? null : t.getDataLocation();
            if (location != null) {
                out.add(new Access(HiveResources.dfs(location.toString()), read, false, via));
            }
        }
        // The authorizer decided the tables written; they are named again only when something is
        // read here, since where the rows go decides whether they leave their zone.
        boolean reads = !out.isEmpty();
        for (WriteEntity w : outputs) {
            if (w.isTempURI() || w.isDummy()) {
                continue; // HiveServer2's own scratch space for the result the user fetches
            }
            Table t = w.getTable();
            if (t != null && (w.getType() == Entity.Type.TABLE || w.getType() == Entity.Type.PARTITION)) {
                if (reads) {
                    out.add(Access.output(HiveResources.hive(t.getDbName(), t.getTableName()), write));
                }
                Path location = w.getType() == Entity.Type.PARTITION && w.getPartition() != null
                        ? w.getPartition().getDataLocation() : t.isView() ? null : t.getDataLocation();
                if (location != null) {
                    out.add(Access.output(HiveResources.dfs(location.toString()), write));
                }
            } else if (reads && w.getType() == Entity.Type.DFS_DIR) {
                out.add(Access.output(HiveResources.dfs(w.getD().toString()), write));
            } else if (reads && w.getType() == Entity.Type.LOCAL_DIR) {
                out.add(Access.output(HiveResources.local(w.getD().toString()), write));
            }
        }
        return out;
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
