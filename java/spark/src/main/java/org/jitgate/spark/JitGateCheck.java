package org.jitgate.spark;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.QueryPlanningTracker;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.trees.TreeNodeTag;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SQLExecution;
import org.jitgate.Verdict;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

/**
 * The check rule of one session: one {@link org.jitgate.JitGate#check} per analyzed plan, by the
 * session's Hadoop user ({@link UserGroupInformation#getCurrentUser()}, the proxy user where one is
 * set), before Spark runs anything of the plan.
 *
 * <p>A denial raises {@link AnalysisException} with the core's message. Anything going wrong on
 * jitgate's side raises one too: the plan never runs unchecked.
 *
 * <p>Every plan Spark hands the rule is checked, a subquery's alone too (Spark checks it before
 * the plan holding it, which then shares its audit context). Not checked again: a plan a command
 * builds while it runs (the insert of a CTAS, a table refresh) when it touches only what the
 * command's checked plan touches and that decision's grants are still live.
 *
 * <p>Spark assigns a query's SQL execution id only after analysis: {@link GrantWatcher} checks a plan
 * allowed with grants once more when it starts running, with the execution id appended to the
 * context (the core knows it as the same query), and cancels it if that check denies.
 */
final class JitGateCheck extends AbstractFunction1<LogicalPlan, BoxedUnit> {
    /** The decision on a plan, read by {@link GrantWatcher} for the jobs that execute it. */
    static final TreeNodeTag<Checked> CHECKED = new TreeNodeTag<>("jitgate.checked");
    /** More catalogs over the session's Hive metastore, comma separated: their tables are {@code hive:} tables. */
    static final String METASTORE_CATALOGS_KEY = "spark.jitgate.spark.metastore.catalogs";
    /** Local property: the grants of the last plan checked on this thread; jobs inherit it. */
    static final String GRANTS_PROPERTY = "jitgate.grants";

    private static final Logger LOG = LoggerFactory.getLogger(JitGateCheck.class);
    /** The context of each query being analysed, by its planning tracker (Spark 4). */
    private static final Map<QueryPlanningTracker, String> BY_TRACKER = new WeakHashMap<>();
    /** The context of the last query checked on each thread, for the plan that holds its subqueries. */
    private static final ThreadLocal<Recent> RECENT = new ThreadLocal<>();
    private static final AtomicLong QUERIES = new AtomicLong();

    private final SparkSession session;
    /**
     * The admin's {@value #METASTORE_CATALOGS_KEY}, read once: the SparkContext's configuration
     * does not change while it runs, and {@code getConf} copies all of it.
     */
    private volatile Set<String> metastoreCatalogs;

    JitGateCheck(SparkSession session) {
        this.session = session;
    }

    private Set<String> metastoreCatalogs(SparkContext sc) {
        Set<String> catalogs = metastoreCatalogs;
        if (catalogs == null) {
            catalogs = SparkResources.metastoreCatalogs(sc.getConf().get(METASTORE_CATALOGS_KEY, ""));
            metastoreCatalogs = catalogs;
        }
        return catalogs;
    }

    @Override
    public BoxedUnit apply(LogicalPlan plan) {
        String user = null;
        try {
            ConfigGuard.refuseUnfixing(plan);
            ConfigGuard.refuseChangedInSession(session);
            SparkContext sc = session.sparkContext();
            GrantWatcher watcher = GrantWatcher.of(sc);
            user = UserGroupInformation.getCurrentUser().getShortUserName();
            Supplier<String> currentDatabase = () -> session.catalog().currentDatabase();
            Supplier<URI> defaultFs = () -> FileSystem.getDefaultUri(sc.hadoopConfiguration());
            Supplier<String> workingDir = () -> {
                try {
                    return FileSystem.get(defaultFs.get(), sc.hadoopConfiguration()).getWorkingDirectory()
                            .toUri().getPath();
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            };
            PlanAccesses accesses = PlanAccesses.of(plan, currentDatabase, defaultFs, workingDir,
                    new SessionTables(session),
                    metastoreCatalogs(sc));

            Checked enclosing = enclosingDecision(sc);
            if (enclosing != null && accesses.coveredBy(enclosing.accesses()) && watcher.allLive(enclosing.grants())) {
                remember(plan, sc, new Checked(accesses, enclosing.grants(), enclosing.context(), user, null));
                return BoxedUnit.UNIT;
            }
            String context = enclosing != null ? enclosing.context() : queryContext(sc, plan);
            if (accesses.isEmpty()) {
                remember(plan, sc, new Checked(accesses, List.of(), context, user, null));
                return BoxedUnit.UNIT;
            }
            String operation = PlanAccesses.nodeName(plan);
            Verdict verdict = watcher.engine().check(user, accesses.accesses(), operation, context);
            if (LOG.isDebugEnabled()) {
                LOG.debug("jitgate: {} {} [{}] -> {} {}", user, operation, accesses, verdict.code(), verdict.grants());
            }
            if (verdict.denied()) {
                throw Denials.raise(Denials.of(Denials.message(verdict, user, operation)));
            }
            remember(plan, sc, new Checked(accesses, verdict.grants(), context, user, operation));
            return BoxedUnit.UNIT;
        } catch (Throwable t) {
            throw Denials.raise(t instanceof AnalysisException ? t : Denials.checkFailed(user, t));
        }
    }

    /**
     * The decision on the command whose execution is running on this thread, if jitgate checked
     * it. A command runs in a query execution built from its analyzed (and checked) plan, so the
     * decision is read from that plan as it is; the execution's analysis is never forced from
     * here, since the execution registered for this thread may be the very one whose analysis
     * called this check (a JDBC write wraps its rows in one), and asking for it again recursed
     * without end.
     */
    private static Checked enclosingDecision(SparkContext sc) {
        String id = sc.getLocalProperty(GrantWatcher.EXECUTION_ID);
        if (id == null) {
            return null;
        }
        QueryExecution qe = SQLExecution.getQueryExecution(Long.parseLong(id));
        if (qe == null) {
            return null;
        }
        Option<Checked> checked = qe.logical().getTagValue(CHECKED);
        return checked.isDefined() ? checked.get() : null;
    }

    private static void remember(LogicalPlan plan, SparkContext sc, Checked checked) {
        plan.setTagValue(CHECKED, checked);
        sc.setLocalProperty(GRANTS_PROPERTY, checked.grants().isEmpty() ? null : String.join(",", checked.grants()));
    }

    /**
     * The query's context for the audit trail: the application, the SQL execution when the plan is
     * checked inside one (the id is assigned only after analysis, so mostly it is not known here;
     * the check as the plan runs appends it), the plan's hash, and a number unique in this JVM, so
     * two runs of the same SQL are two queries.
     */
    private static String context(SparkContext sc, LogicalPlan plan) {
        String execution = sc.getLocalProperty(GrantWatcher.EXECUTION_ID);
        return "spark.app.id=" + sc.applicationId()
                + (execution != null ? " spark.sql.execution.id=" + execution : "")
                + " plan=" + Integer.toHexString(plan.hashCode())
                + " query=" + QUERIES.incrementAndGet();
    }

    /**
     * The audit context of {@code plan}'s query. Spark runs check rules on each subquery's plan,
     * alone, before the plan that holds it; every one is checked (no plan is skipped, whatever
     * called the rule), and the plan that holds subqueries checked just before on this thread is
     * the same query: it shares their context, so a single-use grant they consumed serves it too.
     */
    private static String queryContext(SparkContext sc, LogicalPlan plan) {
        // Spark 4 analyses (and checks) a query under its planning tracker, the same object for
        // the whole query and a new one for the next: the query's context hangs on it.
        Option<QueryPlanningTracker> tracker = QueryPlanningTracker.get();
        if (tracker.isDefined()) {
            synchronized (BY_TRACKER) {
                return BY_TRACKER.computeIfAbsent(tracker.get(), t -> context(sc, plan));
            }
        }
        // Spark 3.5 checks outside the tracker: the plan that holds the plans checked just
        // before is their query, once (a later plan reusing those plan objects is another query,
        // which must not share a single-use grant the first consumed).
        Recent recent = RECENT.get();
        if (recent != null && recent.heldBy(plan)) {
            RECENT.remove();
            return recent.context;
        }
        String context = context(sc, plan);
        RECENT.set(new Recent(context, plan));
        return context;
    }

    /** The plan last checked on a thread with its context (weakly: the plan is not kept alive here). */
    private static final class Recent {
        final String context;
        final java.lang.ref.WeakReference<LogicalPlan> plan;

        Recent(String context, LogicalPlan plan) {
            this.context = context;
            this.plan = new java.lang.ref.WeakReference<>(plan);
        }

        /** Whether this plan is a subquery somewhere in {@code plan}. */
        boolean heldBy(LogicalPlan plan) {
            LogicalPlan mine = this.plan.get();
            return mine != null && holds(plan, mine);
        }

        private static boolean holds(LogicalPlan node, LogicalPlan subquery) {
            for (scala.collection.Iterator<LogicalPlan> it = node.subqueries().iterator(); it.hasNext(); ) {
                LogicalPlan s = it.next();
                if (s == subquery || holds(s, subquery)) {
                    return true;
                }
            }
            for (scala.collection.Iterator<LogicalPlan> it = node.children().iterator(); it.hasNext(); ) {
                if (holds(it.next(), subquery)) {
                    return true;
                }
            }
            return false;
        }
    }
}
