package org.jitgate.ranger;

import org.apache.ranger.plugin.policyengine.RangerAccessRequest;

/**
 * The {@code jitgate-no-grant} condition, for a <em>deny</em> item: it matches unless the user
 * holds an active jitgate grant for the request, i.e. exactly when {@code jitgate-grant} does not.
 *
 * <p>Why a deny form: a Ranger plugin that cannot load a condition's evaluator class (a host
 * without this jar: a second HiveServer2, a Metastore, a standby NameNode) logs an error and drops
 * the condition, so an <em>allow</em> item carrying {@code jitgate-grant} then allows without a
 * grant. A deny item carrying {@code jitgate-no-grant} instead denies on such a host. Any failure
 * here also matches: the deny item denies.
 */
public class JitGateNoGrantConditionEvaluator extends JitGateConditionEvaluator {
    @Override
    public boolean isMatched(RangerAccessRequest request) {
        return !super.isMatched(request);
    }
}
