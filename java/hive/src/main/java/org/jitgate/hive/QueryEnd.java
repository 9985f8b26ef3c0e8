package org.jitgate.hive;

import org.apache.hadoop.hive.ql.hooks.QueryLifeTimeHook;
import org.apache.hadoop.hive.ql.hooks.QueryLifeTimeHookContext;

/**
 * Tells {@link QueryWatch} a query's execution ended (well or not), so it stops watching it: a
 * watch that outlived its query would only try to kill a finished query when the grant ends, and
 * a long grant would gather thousands. Installed by the authorizer in
 * {@code hive.query.lifetime.hooks}.
 */
public final class QueryEnd implements QueryLifeTimeHook {
    @Override
    public void beforeCompile(QueryLifeTimeHookContext ctx) {
    }

    @Override
    public void afterCompile(QueryLifeTimeHookContext ctx, boolean hasError) {
        if (hasError) {
            forget(ctx);
        }
    }

    @Override
    public void beforeExecution(QueryLifeTimeHookContext ctx) {
    }

    @Override
    public void afterExecution(QueryLifeTimeHookContext ctx, boolean hasError) {
        forget(ctx);
    }

    private static void forget(QueryLifeTimeHookContext ctx) {
        String id = null;
        if (ctx.getHookContext() != null && ctx.getHookContext().getQueryPlan() != null) {
            id = ctx.getHookContext().getQueryPlan().getQueryId();
        } else if (ctx.getHiveConf() != null) {
            id = ctx.getHiveConf().get(JitGateAuthorizer.QUERY_ID_KEY);
        }
        if (id != null) {
            QueryWatch.forget(id);
        }
    }
}
