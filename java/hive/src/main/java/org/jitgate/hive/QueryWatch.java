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
 * query's session (its owner may always kill it). The kill is repeated every tick for
 * {@link #KILL_WINDOW_MILLIS} after the grant ended, since one that lands while the query is
 * between compiling and running can be lost; a query that ended meanwhile is not found and
 * nothing happens. The entry is forgotten after that window, or as soon as the query's execution
 * ends ({@link QueryEnd}).
 */
final class QueryWatch {
    static final long TICK_MILLIS = 100;
    static final long KILL_WINDOW_MILLIS = 3000;

    private static final Logger LOG = LoggerFactory.getLogger(QueryWatch.class);

    private static final class Watched {
        final JitGate engine;
        final List<String> grants;
        final SessionState session;
        /** When one of the grants was first seen ended (nanoTime), or 0 while they all hold. */
        long endedAt;

        Watched(JitGate engine, List<String> grants, SessionState session) {
            this.engine = engine;
            this.grants = grants;
            this.session = session;
        }
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
        // the authorizer and the view hook may both watch one query: it relies on all their grants
        WATCHED.merge(queryId, new Watched(engine, List.copyOf(grants), session), (old, more) -> {
            java.util.LinkedHashSet<String> all = new java.util.LinkedHashSet<>(old.grants);
            all.addAll(more.grants);
            return new Watched(engine, List.copyOf(all), session);
        });
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
                String ended = null;
                for (String grant : w.grants) {
                    boolean live;
                    try {
                        live = w.engine.grantLive(grant);
                    } catch (Throwable t) {
                        live = false; // a closed engine holds no grant
                    }
                    if (!live) {
                        ended = grant;
                        break;
                    }
                }
                if (ended == null && w.endedAt == 0) {
                    continue;
                }
                boolean first = w.endedAt == 0;
                if (first) {
                    w.endedAt = System.nanoTime();
                }
                if (System.nanoTime() - w.endedAt > KILL_WINDOW_MILLIS * 1_000_000) {
                    WATCHED.remove(e.getKey(), w);
                    continue;
                }
                String grant = ended != null ? ended : w.grants.get(0);
                kill(e.getKey(), w, "jitgate: grant " + grant + " was revoked or expired; query cancelled", first);
            }
        }
    }

    /** The query ran to its end: nothing of it is left to stop. */
    static void forget(String queryId) {
        WATCHED.remove(queryId);
    }

    /** How many queries allowed under {@code grant} are watched (for tests). */
    static long watching(String grant) {
        return WATCHED.values().stream().filter(w -> w.grants.contains(grant) && w.endedAt == 0).count();
    }

    private static void kill(String queryId, Watched w, String why, boolean first) {
        KillQuery kill = w.session.getKillQuery();
        if (first) {
            LOG.info("jitgate: cancelling Hive query {}: {}", queryId, why);
        }
        try {
            SessionState.setCurrentSessionState(w.session);
            kill.killQuery(queryId, why, w.session.getConf());
        } catch (Throwable t) {
            if (first) { // later attempts mostly find the query gone: it ended, or the first kill took
                LOG.warn("jitgate: cannot cancel Hive query {} ({}): {}", queryId, why, t.toString());
            }
        } finally {
            SessionState.detachSession();
        }
    }
}
