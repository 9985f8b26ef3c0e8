package org.jitgate.spark;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerApplicationEnd;
import org.apache.spark.scheduler.SparkListenerEvent;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SQLExecution;
import org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionEnd;
import org.jitgate.JitGate;
import org.jitgate.Verdict;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Stops running jobs whose grants end or whose plan is refused as it runs: the mid-query half of
 * enforcement.
 *
 * <p>Which grants a job relies on: the decision of the plan it executes, found through the job's
 * SQL execution id ({@code spark.sql.execution.id} and the root execution's id) to the
 * {@link QueryExecution}, whose analyzed plan carries the {@link JitGateCheck#CHECKED} tag the check
 * rule put there; plus the grants of the last plan checked on the thread that submitted the job
 * ({@link JitGateCheck#GRANTS_PROPERTY}, a local property the job inherits), which covers jobs
 * without an execution id ({@code df.rdd} actions) and plans Spark re-wrapped (CTE inlining).
 *
 * <p>A daemon thread asks the engine every {@link #POLL_MILLIS} ms whether each watched job's grants
 * are still live; when one has been revoked or has expired it cancels the job with a reason naming
 * the grant. A job is checked once more when it starts, so a Dataset analyzed under a grant and run
 * after the grant ended is cancelled at once. Listener events arrive asynchronously: a job that
 * ends before its start event is delivered is not seen.
 *
 * <p>The first job of a SQL execution whose plan was allowed with grants also has the plan checked
 * again in the core, once per execution, with {@code spark.sql.execution.id=<id>} appended to the
 * plan's audit context (Spark assigns the id only after analysis; the core knows the longer context
 * as the same query, so a single-use grant the query consumed still serves it). That check runs on
 * the daemon thread, not on Spark's listener bus; when it denies, or fails, the execution's jobs are
 * cancelled with its message.
 */
final class GrantWatcher extends SparkListener implements Runnable {
    static final long POLL_MILLIS = 50;
    static final String EXECUTION_ID = "spark.sql.execution.id";
    static final String ROOT_EXECUTION_ID = "spark.sql.execution.root.id";

    private static final Logger LOG = LoggerFactory.getLogger(GrantWatcher.class);
    private static GrantWatcher current;

    private final SparkContext sc;
    /** Running jobs that rely on grants. */
    private final Map<Integer, Job> jobs = new ConcurrentHashMap<>();
    /** Running SQL executions checked as they run: "" while allowed or being checked, else why refused. */
    private final Map<Long, String> executions = new ConcurrentHashMap<>();
    /** The first SQL execution of each analysed plan: the run its query is. */
    private final Map<Checked, Long> firstRun = Collections.synchronizedMap(new WeakHashMap<>());
    /** Executions whose plan the daemon thread is to check as they run. */
    private final BlockingQueue<Started> started = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean stopped;
    private volatile JitGate engine;

    /** A running job: the grants it relies on and the SQL executions of the checked plans it runs. */
    private record Job(List<String> grants, Set<Long> executions) {
    }

    /** A SQL execution that started running a plan allowed with grants. */
    private record Started(long executionId, Checked checked) {
    }

    private GrantWatcher(SparkContext sc) {
        this.sc = sc;
        this.thread = new Thread(this, "jitgate-grant-watcher");
        thread.setDaemon(true);
    }

    /** The watcher of {@code sc}, registered as its listener on first use; one SparkContext is active per JVM. */
    static synchronized GrantWatcher of(SparkContext sc) {
        if (current == null || current.sc != sc) {
            if (current != null) {
                current.stop();
            }
            GrantWatcher w = new GrantWatcher(sc);
            sc.addSparkListener(w);
            w.thread.start();
            current = w;
        }
        return current;
    }

    /** The JVM's engine, opened from the SparkContext's configuration on first use. */
    JitGate engine() {
        JitGate e = engine;
        if (e == null) {
            synchronized (this) {
                if (engine == null) {
                    engine = SparkEngine.open(sc.getConf());
                }
                e = engine;
            }
        }
        return e;
    }

    /** False when any grant has ended, or when liveness cannot be read. */
    boolean allLive(List<String> grants) {
        for (String g : grants) {
            if (!live(g)) {
                return false;
            }
        }
        return true;
    }

    private boolean live(String grant) {
        try {
            return engine().grantLive(grant);
        } catch (Throwable t) {
            LOG.warn("jitgate: cannot read whether grant {} is live; treating it as ended", grant, t);
            return false;
        }
    }

    @Override
    public void onJobStart(SparkListenerJobStart start) {
        int jobId = start.jobId();
        try {
            Map<Long, Checked> plans = plansOf(start.properties());
            List<String> grants = grantsOf(start.properties(), plans.values());
            if (!grants.isEmpty()) {
                // Watched before the refusal is read: a check refusing meanwhile finds the job here.
                jobs.put(jobId, new Job(grants, Set.copyOf(plans.keySet())));
                String refused = refusal(plans.keySet());
                if (refused != null) {
                    cancel(jobId, refused);
                    return;
                }
                sweep(jobId, grants);
            }
            plans.forEach((executionId, checked) -> {
                if (checked.checkedAsItRuns() && executions.putIfAbsent(executionId, "") == null) {
                    started.add(new Started(executionId, checked));
                }
            });
        } catch (Throwable t) {
            LOG.warn("jitgate: cannot tell which grants job {} relies on", jobId, t);
        }
    }

    @Override
    public void onJobEnd(SparkListenerJobEnd end) {
        jobs.remove(end.jobId());
    }

    @Override
    public void onOtherEvent(SparkListenerEvent event) {
        if (event instanceof SparkListenerSQLExecutionEnd end) {
            executions.remove(end.executionId());
        }
    }

    @Override
    public void onApplicationEnd(SparkListenerApplicationEnd end) {
        stop();
    }

    @Override
    public void run() {
        while (!stopped) {
            try {
                for (Started s = started.poll(POLL_MILLIS, TimeUnit.MILLISECONDS); s != null; s = started.poll()) {
                    checkAsItRuns(s);
                }
                for (Map.Entry<Integer, Job> job : jobs.entrySet()) {
                    sweep(job.getKey(), job.getValue().grants());
                }
            } catch (InterruptedException e) {
                return;
            } catch (Throwable t) {
                LOG.warn("jitgate: grant watcher round failed", t);
            }
        }
    }

    private void sweep(int jobId, List<String> grants) {
        for (String grant : grants) {
            if (!live(grant)) {
                cancel(jobId, "jitgate: grant " + grant + " was revoked or expired; query cancelled");
                return;
            }
        }
    }

    /**
     * The plan's check once more as its execution runs, with the execution id in the audit context.
     * Denied or failing (fail closed): the execution's jobs are cancelled, and so are any it starts later.
     */
    private void checkAsItRuns(Started s) {
        String refused = refusalAsItRuns(s.executionId(), s.checked());
        if (refused == null) {
            return;
        }
        // Recorded before the jobs are read: a job starting meanwhile is either seen here or sees this.
        executions.replace(s.executionId(), refused);
        for (Map.Entry<Integer, Job> job : jobs.entrySet()) {
            if (job.getValue().executions().contains(s.executionId())) {
                cancel(job.getKey(), refused);
            }
        }
    }

    /**
     * The check as an execution starts, on the thread that runs it, before its first job: Spark
     * prepares the physical plan there (ExecutionCheck). A job that ends before its start event
     * reaches the listener is then checked all the same. Once per execution; a refusal is raised
     * here, again each time the execution prepares its plan (Spark 3.5 prepares it first for the
     * execution's start event, where an AnalysisException only ends up in the plan's description),
     * and also stops any job the execution starts anyway.
     */
    void checkBeforeRun(long executionId, Checked c) {
        if (!c.checkedAsItRuns()) {
            return;
        }
        String before = executions.putIfAbsent(executionId, "");
        if (before != null) {
            if (!before.isEmpty()) {
                throw Denials.raise(Denials.of(before));
            }
            return;
        }
        String refused = refusalAsItRuns(executionId, c);
        if (refused != null) {
            executions.replace(executionId, refused);
            throw Denials.raise(Denials.of(refused));
        }
    }

    /** Why the plan's check with its execution id refuses it now, or null when it is allowed. */
    private String refusalAsItRuns(long executionId, Checked c) {
        // The first run of an analysed plan is its query; running the same Dataset again is a new
        // query to the core (a context that does not extend the first), so a single-use grant the
        // first run consumed does not serve it.
        long first = firstRun.computeIfAbsent(c, k -> executionId);
        String query = first == executionId ? c.context() : c.context() + "#rerun";
        String context = query + " " + EXECUTION_ID + "=" + executionId;
        try {
            Verdict verdict = engine().check(c.user(), c.accesses().accesses(), c.operation(), context);
            return verdict.denied() ? Denials.message(verdict, c.user(), c.operation()) : null;
        } catch (Throwable t) {
            LOG.warn("jitgate: check of SQL execution {} as it runs failed; refusing it", executionId, t);
            return Denials.checkFailedMessage(c.user(), t);
        }
    }

    /** Why one of these executions was refused as it ran, or null. */
    private String refusal(Set<Long> executionIds) {
        for (Long id : executionIds) {
            String refused = executions.get(id);
            if (refused != null && !refused.isEmpty()) {
                return refused;
            }
        }
        return null;
    }

    /** Cancels a watched job once, whichever of its grants or checks ends it first. */
    private void cancel(int jobId, String reason) {
        if (jobs.remove(jobId) != null) {
            LOG.info("{} (job {})", reason, jobId);
            sc.cancelJob(jobId, reason);
        }
    }

    private void stop() {
        stopped = true;
        thread.interrupt();
    }

    /** The decisions on the plans a job executes, by SQL execution id: its execution's and its root execution's. */
    static Map<Long, Checked> plansOf(Properties props) {
        Map<Long, Checked> plans = new LinkedHashMap<>();
        if (props == null) {
            return plans;
        }
        for (String key : new String[] {EXECUTION_ID, ROOT_EXECUTION_ID}) {
            String id = props.getProperty(key);
            if (id == null) {
                continue;
            }
            try {
                long executionId = Long.parseLong(id);
                QueryExecution qe = SQLExecution.getQueryExecution(executionId);
                if (qe != null) {
                    Option<Checked> checked = qe.analyzed().getTagValue(JitGateCheck.CHECKED);
                    if (checked.isDefined()) {
                        plans.put(executionId, checked.get());
                    }
                }
            } catch (RuntimeException e) {
                LOG.debug("jitgate: no query execution for {}={}", key, id, e);
            }
        }
        return plans;
    }

    /** The grants of the plans a job executes: its executions' ({@code plans}) and its thread's. */
    static List<String> grantsOf(Properties props, Collection<Checked> plans) {
        Set<String> grants = new LinkedHashSet<>();
        for (Checked checked : plans) {
            grants.addAll(checked.grants());
        }
        String local = props == null ? null : props.getProperty(JitGateCheck.GRANTS_PROPERTY);
        if (local != null && !local.isEmpty()) {
            for (String g : local.split(",")) {
                grants.add(g);
            }
        }
        return new ArrayList<>(grants);
    }
}
