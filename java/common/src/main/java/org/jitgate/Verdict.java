package org.jitgate;

import java.util.List;

/**
 * The core's answer to {@link JitGate#check}: one decision for everything a query touches.
 *
 * @param code a {@link Decision} code: {@link Decision#NOT_PROTECTED} when nothing is in a zone,
 *     {@link Decision#ALLOW}, or the code of the first denial
 * @param message for a denial, the message to raise (user, resource, action, request link)
 * @param grants ids of the grants the query relies on; the engine stops the query when one of
 *     them ends ({@link JitGate#grantLive})
 */
public record Verdict(int code, String message, List<String> grants) {
    /** As the core builds it ({@code JitGateNative.check}). */
    Verdict(int code, String message, String[] grants) {
        this(code, message, List.of(grants));
    }

    public boolean denied() {
        return Decision.denied(code);
    }
}
