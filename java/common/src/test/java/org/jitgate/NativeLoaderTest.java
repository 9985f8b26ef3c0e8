package org.jitgate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jitgate.NativeLoader.Platform;
import org.junit.jupiter.api.Test;

/**
 * The loader refuses a platform the jar carries no library for, and a glibc too old for the library,
 * with a message naming the platform and what the library needs.
 */
class NativeLoaderTest {
    @Test
    void platformWithoutABundledLibraryIsNamed() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLoader.resourceFor(new Platform("Mac OS X", "aarch64", null)));
        assertTrue(e.getMessage().contains("not for Mac OS X/aarch64;"), e.getMessage());
        assertTrue(e.getMessage().contains("linux-x86_64 with glibc " + NativeLoader.GLIBC_FLOOR + " or newer"),
                e.getMessage());
        assertTrue(e.getMessage().contains("-Djitgate.native.lib=PATH"), e.getMessage());
    }

    @Test
    void linuxOnOtherArchOrMuslIsNamedWithItsLibc() {
        UnsatisfiedLinkError arm = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLoader.resourceFor(new Platform("Linux", "aarch64", "glibc")));
        assertTrue(arm.getMessage().contains("not for Linux/aarch64 (glibc)"), arm.getMessage());
        UnsatisfiedLinkError musl = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLoader.resourceFor(new Platform("Linux", "amd64", "musl")));
        assertTrue(musl.getMessage().contains("not for Linux/amd64 (musl)"), musl.getMessage());
    }

    @Test
    void linuxX86WithGlibcGetsTheBundledLibrary() {
        assertEquals(NativeLoader.RESOURCE, NativeLoader.resourceFor(new Platform("Linux", "amd64", "glibc")));
        assertEquals(NativeLoader.RESOURCE, NativeLoader.resourceFor(new Platform("Linux", "x86_64", null)));
    }

    @Test
    void glibcTooOldPassesOnTheMissingVersionWithTheFloor() {
        // What the JVM reports when ld.so finds a symbol version the system's glibc lacks.
        UnsatisfiedLinkError cause = new UnsatisfiedLinkError("/tmp/libjitgate-1.so: /lib/x86_64-linux-gnu/libc.so.6:"
                + " version `GLIBC_2.34' not found (required by /tmp/libjitgate-1.so)");
        UnsatisfiedLinkError e = NativeLoader.loadFailure(new Platform("Linux", "amd64", "glibc"), cause);
        assertTrue(e.getMessage().contains("on Linux/amd64 (glibc)"), e.getMessage());
        assertTrue(e.getMessage().contains("version `GLIBC_2.34' not found"), e.getMessage());
        assertTrue(e.getMessage().contains("needs glibc " + NativeLoader.GLIBC_FLOOR + " or newer"), e.getMessage());
        assertSame(cause, e.getCause());
    }

    @Test
    void thisJvmsPlatformIsOneTheJarCarries() {
        // The machine the tests run on is the one the jar is built for; its libc is told from /proc.
        Platform here = Platform.current();
        assertEquals("glibc", here.libc(), here.toString());
        assertEquals(NativeLoader.RESOURCE, NativeLoader.resourceFor(here));
    }
}
