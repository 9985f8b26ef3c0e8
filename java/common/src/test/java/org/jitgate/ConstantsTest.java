package org.jitgate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Action.java and Decision.java carry the numbers of the C header the core generates (whose values
 * the core ties to its own enums when it compiles): every constant of either class is a
 * {@code JITGATE_} define of the same name and value, and every define is one of them; and the
 * library loaded gives each the same number.
 */
class ConstantsTest {
    private static final Path HEADER = Path.of("../../include/jitgate.h");

    @Test
    void javaConstantsAreTheLibrarysNumbers() throws Exception {
        Map<String, Long> java = javaConstants();
        Map<String, Long> core = new TreeMap<>();
        for (String name : java.keySet()) {
            core.put(name, JitGateNative.constant(name));
        }
        assertEquals(java, core, "Action.java and Decision.java against the core");
        assertEquals(Long.MIN_VALUE, JitGateNative.constant("NO_SUCH_CONSTANT"));
    }

    private static Map<String, Long> javaConstants() throws IllegalAccessException {
        Map<String, Long> java = new TreeMap<>();
        for (Class<?> c : new Class<?>[] {Action.class, Decision.class}) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                    java.put(f.getName(), (long) f.getInt(null));
                }
            }
        }
        return java;
    }

    @Test
    void javaConstantsAreTheHeadersNumbers() throws Exception {
        Map<String, Long> header = new TreeMap<>();
        Matcher m = Pattern.compile("(?m)^#define JITGATE_(\\w+) (\\d+)$").matcher(Files.readString(HEADER));
        while (m.find()) {
            header.put(m.group(1), Long.parseLong(m.group(2)));
        }
        assertEquals(header, javaConstants(), "include/jitgate.h against Action.java and Decision.java");
    }
}
