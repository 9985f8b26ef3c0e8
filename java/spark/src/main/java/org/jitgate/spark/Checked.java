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
 */
record Checked(PlanAccesses accesses, List<String> grants, String context) {
}
