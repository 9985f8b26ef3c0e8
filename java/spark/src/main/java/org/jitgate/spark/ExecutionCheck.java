package org.jitgate.spark;

import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.execution.ColumnarRule;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SQLExecution;
import org.apache.spark.sql.execution.SparkPlan;
import scala.Option;

/**
 * The check of a plan as its execution starts, synchronously: Spark prepares a query's physical
 * plan on the thread that runs it, inside its SQL execution and before its first job, and applies
 * the session's columnar rules there. This rule changes nothing in the plan; it asks
 * {@link GrantWatcher#checkBeforeRun} to check the execution's plan with its execution id, so a
 * Dataset analyzed under a grant that has ended since is refused before it runs, however short
 * its jobs. (A Dataset run a second time reuses its prepared plan: that run is checked as its
 * jobs start, by the watcher.)
 */
final class ExecutionCheck extends ColumnarRule {
    private final SparkSession session;

    ExecutionCheck(SparkSession session) {
        this.session = session;
    }

    @Override
    public Rule<SparkPlan> preColumnarTransitions() {
        return new Rule<SparkPlan>() {
            @Override
            public SparkPlan apply(SparkPlan plan) {
                SparkContext sc = session.sparkContext();
                String id = sc.getLocalProperty(GrantWatcher.EXECUTION_ID);
                if (id == null) {
                    return plan; // prepared outside a run (explain): checked when it runs
                }
                long executionId = Long.parseLong(id);
                QueryExecution qe = SQLExecution.getQueryExecution(executionId);
                if (qe == null) {
                    return plan;
                }
                // Preparing the physical plan comes after analysis: reading it forces nothing.
                Option<Checked> checked = qe.analyzed().getTagValue(JitGateCheck.CHECKED);
                if (checked.isDefined()) {
                    GrantWatcher.of(sc).checkBeforeRun(executionId, checked.get());
                }
                return plan;
            }
        };
    }
}
