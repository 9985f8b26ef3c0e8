package org.jitgate.spark;

import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.SparkSessionExtensionsProvider;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import scala.Function1;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

/**
 * jitgate's Spark SQL plugin: set {@code spark.sql.extensions=org.jitgate.spark.JitGateExtension}
 * (or put the jar on the driver's classpath, which Spark finds through {@link java.util.ServiceLoader})
 * and the {@code spark.jitgate.*} keys ({@link SparkEngine}).
 *
 * <p>It adds one check rule, {@link JitGateCheck}: every analyzed plan is put to the jitgate core
 * once, before Spark runs it. A check rule, unlike an optimizer rule, cannot be switched off with
 * {@code spark.sql.optimizer.excludedRules}. As an execution starts, {@link ExecutionCheck} checks
 * its plan once more, on the running thread. Jobs that rely on grants are watched by a
 * {@link GrantWatcher} and cancelled when one of those grants ends.
 */
public final class JitGateExtension extends AbstractFunction1<SparkSessionExtensions, BoxedUnit>
        implements SparkSessionExtensionsProvider {
    /** Spark applies both spark.sql.extensions and the ServiceLoader entry; one check rule is enough. */
    private static final Set<SparkSessionExtensions> APPLIED =
            Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

    @Override
    public BoxedUnit apply(SparkSessionExtensions extensions) {
        if (APPLIED.add(extensions)) {
            extensions.injectCheckRule(new CheckRuleBuilder());
            extensions.injectColumnar(new ExecutionCheckBuilder());
        }
        return BoxedUnit.UNIT;
    }

    /** Builds the check of one session's executions as they start ({@link ExecutionCheck}). */
    private static final class ExecutionCheckBuilder
            extends AbstractFunction1<SparkSession, org.apache.spark.sql.execution.ColumnarRule> {
        @Override
        public org.apache.spark.sql.execution.ColumnarRule apply(SparkSession session) {
            return new ExecutionCheck(session);
        }
    }

    /** Builds the check rule of one session (Spark calls it when it creates the session's state). */
    private static final class CheckRuleBuilder
            extends AbstractFunction1<SparkSession, Function1<LogicalPlan, BoxedUnit>> {
        @Override
        public Function1<LogicalPlan, BoxedUnit> apply(SparkSession session) {
            return new JitGateCheck(session);
        }
    }
}
