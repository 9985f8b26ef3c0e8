package org.jitgate.spark;

import java.util.List;

/**
 * The decision on one analyzed plan, kept on the plan (a tree-node tag) for the jobs that run it
 * and for the plans its commands build while they run.
 *
 * @param accesses what the plan touches
 * @param grants the grants the decision relied on
 * @param context the query's context in the audit trail; plans its commands build reuse it, so
 *     the core knows them as the same query (a single-use grant serves the whole query)
 * @param user the user the plan was checked for
 * @param operation the operation the core checked (the plan's root node), or null when the plan was
 *     not put to the core: it touches nothing, or the enclosing plan's decision covers it
 */
record Checked(PlanAccesses accesses, List<String> grants, String context, String user, String operation) {
    /**
     * Whether the plan is checked once more when it runs, with its SQL execution id in the context:
     * it was put to the core and allowed with grants.
     */
    boolean checkedAsItRuns() {
        return operation != null && !grants.isEmpty() && !accesses.isEmpty();
    }
}
