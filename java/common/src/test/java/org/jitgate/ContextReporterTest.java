package org.jitgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ContextReporterTest {
    @Test
    void theIntervalIsSecondsFromZeroToAnHourAndZeroTurnsItOff() {
        try (JitGate engine = JitGate.open(Map.of())) {
            assertNull(ContextReporter.start(engine, "hdfs", "0", r -> ResourceContext.NONE));
            for (String bad : new String[] {"-1", "3601", "5s", "x"}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> ContextReporter.start(engine, "hdfs", bad, r -> ResourceContext.NONE));
                assertTrue(e.getMessage().contains("jitgate.hdfs.context.seconds"), e.getMessage());
            }
            ContextReporter.start(engine, "hdfs", null, r -> ResourceContext.NONE).close();
        }
    }

    /** An engine that follows no service is asked about nothing, and has nowhere to send an answer. */
    @Test
    void withoutAServiceNothingIsWantedAndAnAnswerIsRefused() {
        try (JitGate engine = JitGate.open(Map.of())) {
            assertEquals(0, engine.contextWanted("hdfs").size());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> engine.reportContext("hdfs:/lake", ResourceContext.path("directory", 1, 1, 1), null));
            assertTrue(e.getMessage().contains("jitgate.service.url"), e.getMessage());
        }
        JitGate closed = JitGate.open(Map.of());
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.contextWanted("hdfs"));
    }
}
