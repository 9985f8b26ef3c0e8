package org.jitgate.ranger;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.ranger.plugin.policyengine.RangerAccessRequestImpl;
import org.junit.jupiter.api.Test;

class NoGrantConditionTest {
    @Test
    void theDenyFormMatchesWhenTheEngineIsUnreachable() {
        // Never initialised: no engine, as on a failure to open one. The allow form is false here
        // (JitGateConditionTest), so the deny form must be true: the deny item denies.
        JitGateNoGrantConditionEvaluator noGrant = new JitGateNoGrantConditionEvaluator();
        assertTrue(noGrant.isMatched(new RangerAccessRequestImpl()));
    }
}
