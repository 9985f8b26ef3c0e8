package org.jitgate.spark;

import org.apache.spark.QueryContext;
import org.apache.spark.sql.AnalysisException;
import org.jitgate.Verdict;
import scala.Option;

/**
 * The exception a refused plan raises: Spark's own {@link AnalysisException}, with jitgate's message
 * as is. It is a checked exception to Java, and Spark's rule interfaces declare none, so it is
 * thrown through {@link #raise}.
 */
final class Denials {
    private Denials() {
    }

    /** Throws {@code e} (checked or not) from code that cannot declare it; never returns. */
    static RuntimeException raise(Throwable e) {
        throw Denials.<RuntimeException>sneaky(e);
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T sneaky(Throwable e) throws T {
        throw (T) e;
    }

    static AnalysisException of(String message) {
        return of(message, null);
    }

    /**
     * The cause goes in through the constructor: AnalysisException sets it there (to null when
     * absent), so a later {@code initCause} would throw instead of denying.
     */
    static AnalysisException of(String message, Throwable cause) {
        return new AnalysisException(message, Option.empty(), Option.empty(), Option.apply(cause), Option.empty(),
                scala.collection.immutable.Map$.MODULE$.empty(), new QueryContext[0]);
    }

    /** The message of a denial: the core's, or one naming the user and operation if it gave none. */
    static String message(Verdict verdict, String user, String operation) {
        String message = verdict.message();
        return message == null || message.isEmpty()
                ? "jitgate: denied " + user + "'s " + operation + " (decision " + verdict.code() + ")"
                : message;
    }

    /** Fail closed: the plan is refused when jitgate cannot decide. */
    static AnalysisException checkFailed(String user, Throwable cause) {
        return of(checkFailedMessage(user, cause), cause);
    }

    static String checkFailedMessage(String user, Throwable cause) {
        return "jitgate: denied " + (user == null ? "the" : user + "'s") + " query because the check failed: " + cause;
    }
}
