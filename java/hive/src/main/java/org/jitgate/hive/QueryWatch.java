package org.jitgate.hive;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.hive.ql.session.KillQuery;
import org.apache.hadoop.hive.ql.session.SessionState;
import org.jitgate.JitGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HiveServer2 queries allowed under grants, cancelled within a tick of one of those grants ending
 * (revoked or expired), as Spark's plugin cancels its jobs.
 *
 * <p>Hive asks an authorizer once, when it compiles a statement; a query that then runs for an hour
 * would outlive its grant. So the authorizer hands each query it allowed under grants to this
 * watch, which asks the core every {@link #TICK_MILLIS} ms whether each grant still holds and,
 * when one does not, kills the query through HiveServer2's own KILL QUERY, on behalf of the
 * query's session (its owner may always kill it). A query that ended meanwhile is not found
 * there and nothing happens; each entry is forgotten once one of its grants has ended.
 */
final class QueryWatch {
    static final long TICK_MILLIS = 100;

    private static final Logger LOG = LoggerFactory.getLogger(QueryWatch.class);

    private record Watched(JitGate engine, List<String> grants, SessionState session) {
    }

    /** query id → the grants it relies on */
    private static final Map<String, Watched> WATCHED = new ConcurrentHashMap<>();
    private static Thread thread;

    private QueryWatch() {
    }

    /** The query {@code queryId} of {@code session} runs under {@code grants} from now on. */
    static void watch(JitGate engine, String queryId, List<String> grants, SessionState session) {
        if (queryId == null || grants.isEmpty() || session == null || session.getKillQuery() == null) {
            return; // nothing to stop, or not inside HiveServer2 (no KILL QUERY to stop it with)
        }
        WATCHED.put(queryId, new Watched(engine, List.copyOf(grants), session));
        start();
    }

    private static synchronized void start() {
        if (thread == null) {
            thread = new Thread(QueryWatch::run, "jitgate-hive-queries");
            thread.setDaemon(true);
            thread.start();
        }
    }

    private static void run() {
        while (true) {
            try {
                Thread.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            for (Map.Entry<String, Watched> e : WATCHED.entrySet()) {
                Watched w = e.getValue();
                for (String grant : w.grants()) {
                    boolean live;
                    try {
                        live = w.engine().grantLive(grant);
                    } catch (Throwable t) {
                        live = false; // a closed engine holds no grant
                    }
                    if (!live) {
                        kill(e.getKey(), w, "jitgate: grant " + grant + " was revoked or expired; query cancelled");
                        WATCHED.remove(e.getKey(), w);
                        break;
                    }
                }
            }
        }
    }

    private static void kill(String queryId, Watched w, String why) {
        KillQuery kill = w.session().getKillQuery();
        try {
            SessionState.setCurrentSessionState(w.session());
            kill.killQuery(queryId, why, w.session().getConf());
        } catch (Throwable t) {
            LOG.warn("jitgate: cannot cancel Hive query {} ({}): {}", queryId, why, t.toString());
        } finally {
            SessionState.detachSession();
        }
    }
}
