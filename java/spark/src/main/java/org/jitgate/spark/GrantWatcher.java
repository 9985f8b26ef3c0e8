package org.jitgate.spark;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerApplicationEnd;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.execution.QueryExecution;
import org.apache.spark.sql.execution.SQLExecution;
import org.jitgate.JitGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;

/**
 * Stops running jobs whose grants end: the mid-query half of enforcement.
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
 */
final class GrantWatcher extends SparkListener implements Runnable {
    static final long POLL_MILLIS = 50;
    static final String EXECUTION_ID = "spark.sql.execution.id";
    static final String ROOT_EXECUTION_ID = "spark.sql.execution.root.id";

    private static final Logger LOG = LoggerFactory.getLogger(GrantWatcher.class);
    private static GrantWatcher current;

    private final SparkContext sc;
    private final Map<Integer, List<String>> jobs = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean stopped;
    private volatile JitGate engine;

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
        try {
            List<String> grants = grantsOf(start.properties());
            if (!grants.isEmpty()) {
                jobs.put(start.jobId(), grants);
                sweep(start.jobId(), grants);
            }
        } catch (Throwable t) {
            LOG.warn("jitgate: cannot tell which grants job {} relies on", start.jobId(), t);
        }
    }

    @Override
    public void onJobEnd(SparkListenerJobEnd end) {
        jobs.remove(end.jobId());
    }

    @Override
    public void onApplicationEnd(SparkListenerApplicationEnd end) {
        stop();
    }

    @Override
    public void run() {
        while (!stopped) {
            try {
                for (Map.Entry<Integer, List<String>> job : jobs.entrySet()) {
                    sweep(job.getKey(), job.getValue());
                }
                TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
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
                if (jobs.remove(jobId) != null) {
                    String reason = "jitgate: grant " + grant + " was revoked or expired; query cancelled";
                    LOG.info("{} (job {})", reason, jobId);
                    sc.cancelJob(jobId, reason);
                }
                return;
            }
        }
    }

    private void stop() {
        stopped = true;
        thread.interrupt();
    }

    /** The grants of the plans a job executes: its execution's (and root execution's) and its thread's. */
    static List<String> grantsOf(Properties props) {
        if (props == null) {
            return List.of();
        }
        Set<String> grants = new LinkedHashSet<>();
        for (String key : new String[] {EXECUTION_ID, ROOT_EXECUTION_ID}) {
            String id = props.getProperty(key);
            if (id == null) {
                continue;
            }
            try {
                QueryExecution qe = SQLExecution.getQueryExecution(Long.parseLong(id));
                if (qe != null) {
                    Option<Checked> checked = qe.analyzed().getTagValue(JitGateCheck.CHECKED);
                    if (checked.isDefined()) {
                        grants.addAll(checked.get().grants());
                    }
                }
            } catch (RuntimeException e) {
                LOG.debug("jitgate: no query execution for {}={}", key, id, e);
            }
        }
        String local = props.getProperty(JitGateCheck.GRANTS_PROPERTY);
        if (local != null && !local.isEmpty()) {
            for (String g : local.split(",")) {
                grants.add(g);
            }
        }
        return new ArrayList<>(grants);
    }
}
