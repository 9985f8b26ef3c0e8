package org.jitgate;

import java.util.List;

/**
 * Tells the approval service what requested resources are, so approvers see it before they
 * decide: a daemon thread asks the core every {@code interval} which resources of one scheme the
 * service waits for ({@code [context] hdfs = "plugin"} on the service; none otherwise), has the
 * engine describe each through its own API, and sends the answers. The engine's side is one
 * {@link Describer}; asking, sending and retrying are here, the HTTP in the core.
 *
 * <p>It reads only what the engine itself knows (metadata, never data) and changes nothing. A
 * failure to describe one resource is sent as that resource's error; a service that cannot be
 * reached is logged once per outage and asked again at the next tick.
 */
public final class ContextReporter implements AutoCloseable {
    /** How the engine describes one resource of the scheme (its canonical key, e.g. {@code hdfs:/lake/sales}). */
    @FunctionalInterface
    public interface Describer {
        ResourceContext describe(String resource) throws Exception;
    }

    /** The engine key that sets the interval in seconds ({@code jitgate.hdfs.context.seconds}); 0 turns it off. */
    public static String intervalKey(String engine) {
        return JitGate.KEY_PREFIX + engine + ".context.seconds";
    }

    public static final long DEFAULT_SECONDS = 5;

    private final JitGate jitgate;
    private final String scheme;
    private final Describer describer;
    private final long intervalMillis;
    private final Thread thread;
    private volatile boolean closed;

    /**
     * Starts reporting for {@code scheme} every {@code seconds}; null when {@code seconds} is 0.
     *
     * @throws IllegalArgumentException when {@code seconds} is not a whole number from 0 to 3600
     */
    public static ContextReporter start(JitGate jitgate, String scheme, String seconds, Describer describer) {
        long s;
        try {
            s = seconds == null || seconds.isBlank() ? DEFAULT_SECONDS : Long.parseLong(seconds.trim());
        } catch (NumberFormatException e) {
            s = -1;
        }
        if (s < 0 || s > 3600) {
            throw new IllegalArgumentException("jitgate: " + intervalKey(scheme) + " = " + seconds
                    + " is not a number of seconds from 0 (off) to 3600");
        }
        return s == 0 ? null : new ContextReporter(jitgate, scheme, describer, s * 1000);
    }

    private ContextReporter(JitGate jitgate, String scheme, Describer describer, long intervalMillis) {
        this.jitgate = jitgate;
        this.scheme = scheme;
        this.describer = describer;
        this.intervalMillis = intervalMillis;
        this.thread = new Thread(this::run, "jitgate-context-" + scheme);
        thread.setDaemon(true);
        thread.start();
    }

    private void run() {
        boolean failing = false;
        while (!closed) {
            try {
                report();
                if (failing) {
                    System.err.println("jitgate: context for approvers (" + scheme + "): the service answers again");
                }
                failing = false;
            } catch (RuntimeException e) {
                if (!failing) {
                    System.err.println("jitgate: context for approvers (" + scheme + "): " + e.getMessage()
                            + "; asking again every " + intervalMillis / 1000 + " s");
                }
                failing = true;
            }
            try {
                Thread.sleep(intervalMillis);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One round: every wanted resource described and sent. */
    void report() {
        List<String> wanted = jitgate.contextWanted(scheme);
        for (String resource : wanted) {
            if (closed) {
                return;
            }
            ResourceContext about = null;
            String error = null;
            try {
                about = describer.describe(resource);
            } catch (Exception e) {
                error = describe(e);
            }
            jitgate.reportContext(resource, about, error);
        }
    }

    /** An engine's exception as one line: its first line, without the remote stack Hadoop appends. */
    private static String describe(Exception e) {
        String m = e.getMessage();
        if (m == null || m.isBlank()) {
            return e.getClass().getSimpleName();
        }
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
