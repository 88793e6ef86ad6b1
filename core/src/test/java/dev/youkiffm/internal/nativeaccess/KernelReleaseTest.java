package dev.youkiffm.internal.nativeaccess;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Reading {@code os.version} for kernel features: distribution suffixes, and nonsense that must mean "no". */
class KernelReleaseTest {
    @Test
    void releasesAreComparedByMajorAndMinor() {
        assertTrue(NativeRuntime.kernelAtLeast("6.18.44-fc-v669", 6, 15));
        assertTrue(NativeRuntime.kernelAtLeast("6.15.0", 6, 15));
        assertTrue(NativeRuntime.kernelAtLeast("7.0", 6, 15));
        assertFalse(NativeRuntime.kernelAtLeast("6.14.11-300.fc42.x86_64", 6, 15));
        assertFalse(NativeRuntime.kernelAtLeast("6.1.0-56-amd64", 6, 15));
        assertFalse(NativeRuntime.kernelAtLeast("5.99", 6, 15));
        assertFalse(NativeRuntime.kernelAtLeast("", 6, 15));
        assertFalse(NativeRuntime.kernelAtLeast("linux", 6, 15));
        assertFalse(NativeRuntime.kernelAtLeast("99999999999.1", 6, 15));
    }
}
