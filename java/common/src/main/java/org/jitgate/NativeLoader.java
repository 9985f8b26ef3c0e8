package org.jitgate;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Loads the decision core once per JVM: from {@code -Djitgate.native.lib=/path/libjitgate.so} when
 * set, otherwise from the copy bundled in this jar, extracted to a private temp file. On a platform
 * the jar carries no library for, or a glibc older than the library needs, it fails naming both.
 */
public final class NativeLoader {
    /** System property naming a {@code libjitgate.so} to load instead of the bundled one. */
    public static final String LIB_PROPERTY = "jitgate.native.lib";

    static final String PLATFORM = "linux-x86_64";
    static final String RESOURCE = "/org/jitgate/native/" + PLATFORM + "/libjitgate.so";
    /**
     * The newest glibc symbol version the library `make dist` bundles refers to ({@code objdump
     * -T}); `make dist` fails when it needs another.
     */
    static final String GLIBC_FLOOR = "2.17";
    static final String CARRIED = PLATFORM + " with glibc " + GLIBC_FLOOR + " or newer";

    private static boolean loaded;

    private NativeLoader() {
    }

    /** Where this JVM runs: what the loader matches against the library the jar carries. */
    record Platform(String os, String arch, String libc) {
        /** This JVM's platform; libc only on Linux, and null when it cannot be told. */
        static Platform current() {
            String os = System.getProperty("os.name", "");
            String libc = os.toLowerCase(Locale.ROOT).startsWith("linux") ? processLibc() : null;
            return new Platform(os, System.getProperty("os.arch", ""), libc);
        }

        boolean carried() {
            String arch = this.arch.toLowerCase(Locale.ROOT);
            return os.toLowerCase(Locale.ROOT).startsWith("linux")
                    && (arch.equals("amd64") || arch.equals("x86_64"))
                    && !"musl".equals(libc);
        }

        @Override
        public String toString() {
            return os + "/" + arch + (libc == null ? "" : " (" + libc + ")");
        }
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
            Platform platform = Platform.current();
            Path lib = extract(resourceFor(platform));
            try {
                System.load(lib.toString());
            } catch (UnsatisfiedLinkError e) {
                throw loadFailure(platform, e);
            } finally {
                // Loaded code stays mapped; removing the file now means a killed JVM leaves nothing behind.
                try {
                    Files.deleteIfExists(lib);
                } catch (IOException ignored) {
                    // deleteOnExit still applies
                }
            }
        }
        loaded = true;
    }

    /** The bundled library's resource for a platform, or an error naming the platform when none is. */
    static String resourceFor(Platform platform) {
        if (!platform.carried()) {
            throw new UnsatisfiedLinkError("jitgate: this jar carries the native library for "
                    + CARRIED + " only, not for " + platform
                    + "; build libjitgate on this platform (cargo build --release) and set -D"
                    + LIB_PROPERTY + "=PATH");
        }
        return RESOURCE;
    }

    /** What to say when the bundled library does not load: the system's glibc is the usual cause. */
    static UnsatisfiedLinkError loadFailure(Platform platform, UnsatisfiedLinkError cause) {
        String why = String.valueOf(cause.getMessage());
        String advice = why.contains("GLIBC_")
                ? "the bundled library needs glibc " + GLIBC_FLOOR + " or newer and this system's is older"
                : "the bundled library is for " + CARRIED;
        UnsatisfiedLinkError err = new UnsatisfiedLinkError("jitgate: cannot load the native library on "
                + platform + ": " + why + "; " + advice + "; build libjitgate on this system"
                + " (cargo build --release) and set -D" + LIB_PROPERTY + "=PATH");
        err.initCause(cause);
        return err;
    }

    /** The C library this process runs on, as named by what it mapped; null when unreadable. */
    private static String processLibc() {
        try (Stream<String> maps = Files.lines(Path.of("/proc/self/maps"))) {
            return maps.anyMatch(line -> line.contains("ld-musl-") || line.contains("libc.musl-"))
                    ? "musl" : "glibc";
        } catch (IOException | UncheckedIOException e) {
            return null;
        }
    }

    private static Path extract(String resource) {
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("jitgate: resource " + resource
                        + " is missing from the classpath (was the jar built without the native"
                        + " library?); set -D" + LIB_PROPERTY + "=PATH to a libjitgate.so");
            }
            Path tmp = Files.createTempFile("libjitgate-", ".so");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("jitgate: cannot extract " + resource
                    + " to " + System.getProperty("java.io.tmpdir") + " (" + e.getMessage()
                    + "); if that directory is not writable or mounted noexec, set -D"
                    + LIB_PROPERTY + "=PATH");
            err.initCause(e);
            throw err;
        }
    }
}
