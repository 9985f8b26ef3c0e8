package org.jitgate;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the decision core once per JVM: from {@code -Djitgate.native.lib=/path/libjitgate.so} when
 * set, otherwise from the copy bundled in this jar, extracted to a private temp file.
 */
public final class NativeLoader {
    /** System property naming a {@code libjitgate.so} to load instead of the bundled one. */
    public static final String LIB_PROPERTY = "jitgate.native.lib";

    static final String PLATFORM = "linux-x86_64";
    static final String RESOURCE = "/org/jitgate/native/" + PLATFORM + "/libjitgate.so";

    private static boolean loaded;

    private NativeLoader() {
    }

    /**
     * Loads the library if this JVM has not yet.
     *
     * @throws UnsatisfiedLinkError when the library cannot be found or loaded; the message says what
     *     to do about it
     */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        String explicit = System.getProperty(LIB_PROPERTY);
        if (explicit != null && !explicit.isBlank()) {
            Path lib = Path.of(explicit).toAbsolutePath();
            if (!Files.isReadable(lib)) {
                throw new UnsatisfiedLinkError("jitgate: " + LIB_PROPERTY + " points at " + lib
                        + ", which does not exist or is not readable");
            }
            System.load(lib.toString());
        } else {
            Path lib = extractBundled();
            System.load(lib.toString());
            // Loaded code stays mapped; removing the file now means a killed JVM leaves nothing behind.
            try {
                Files.deleteIfExists(lib);
            } catch (IOException ignored) {
                // deleteOnExit still applies
            }
        }
        loaded = true;
    }

    private static Path extractBundled() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new UnsatisfiedLinkError("jitgate: this jar bundles the native library for "
                    + PLATFORM + " only, not for " + os + "/" + arch
                    + "; build libjitgate for this platform and set -D" + LIB_PROPERTY + "=PATH");
        }
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("jitgate: resource " + RESOURCE
                        + " is missing from the classpath (was the jar built without the native"
                        + " library?); set -D" + LIB_PROPERTY + "=PATH to a libjitgate.so");
            }
            Path tmp = Files.createTempFile("libjitgate-", ".so");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("jitgate: cannot extract " + RESOURCE
                    + " to " + System.getProperty("java.io.tmpdir") + " (" + e.getMessage()
                    + "); if that directory is not writable or mounted noexec, set -D"
                    + LIB_PROPERTY + "=PATH");
            err.initCause(e);
            throw err;
        }
    }
}
