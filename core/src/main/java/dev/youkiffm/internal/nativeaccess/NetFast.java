package dev.youkiffm.internal.nativeaccess;

import static dev.youkiffm.bindings.youki_ffm_h.yffm_net_attach;
import static dev.youkiffm.bindings.youki_ffm_h.yffm_net_detach;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.youkiffm.RuntimeUnavailableException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * The network fast path's two native calls ({@code yffm_net_attach}, {@code yffm_net_detach}): JSON request in,
 * status and JSON or error text out. The native side does its namespace switching on a thread of its own, never on
 * the calling one. Stateless and thread-safe.
 */
public final class NetFast {
    private static final int ERR_CAP = 4096;
    private static final int OUT_CAP = 16 * 1024;

    private NetFast() {}

    /**
     * A call's outcome.
     *
     * @param status a {@link NativeErrors} code
     * @param text the JSON output on {@code OK}, else the error text
     */
    public record Outcome(int status, String text) {
        /** True for {@link NativeErrors#OK}. */
        public boolean ok() {
            return status == NativeErrors.OK;
        }
    }

    /** True when the native library loads (the fast path needs it; without it networks go to the CNI plugins). */
    public static boolean available() {
        try {
            NativeLibrary.load();
            return true;
        } catch (RuntimeUnavailableException | LinkageError e) {
            return false;
        }
    }

    /** {@code yffm_net_attach}: on {@code OK} the text is the attach's JSON outcome. */
    public static Outcome attach(String requestJson) {
        NativeLibrary.load();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(OUT_CAP);
            MemorySegment len = a.allocate(JAVA_LONG);
            MemorySegment err = a.allocate(ERR_CAP);
            int st = yffm_net_attach(a.allocateFrom(requestJson), buf, OUT_CAP, len, err, ERR_CAP);
            if (st != NativeErrors.OK) {
                return new Outcome(st, err.getString(0));
            }
            byte[] out = buf.asSlice(0, len.get(JAVA_LONG, 0)).toArray(JAVA_BYTE);
            return new Outcome(st, new String(out, StandardCharsets.UTF_8));
        }
    }

    /** {@code yffm_net_detach}: the text is empty on {@code OK}. */
    public static Outcome detach(String requestJson) {
        NativeLibrary.load();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(ERR_CAP);
            int st = yffm_net_detach(a.allocateFrom(requestJson), err, ERR_CAP);
            return new Outcome(st, st == NativeErrors.OK ? "" : err.getString(0));
        }
    }
}
