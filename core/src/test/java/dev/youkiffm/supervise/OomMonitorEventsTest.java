package dev.youkiffm.supervise;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** The v2 path reads raw {@code struct inotify_event}s from the pump: their watch descriptors must come out right. */
class OomMonitorEventsTest {
    private static void event(ByteBuffer b, int wd, String name) {
        byte[] n = name.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int len = n.length == 0 ? 0 : (n.length + 16) & ~15; // the kernel pads names with NULs
        b.putInt(wd).putInt(2 /* IN_MODIFY */).putInt(0).putInt(len);
        b.put(n);
        for (int i = n.length; i < len; i++) {
            b.put((byte) 0);
        }
    }

    @Test
    void watchDescriptorsOfAReadBuffer() {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        event(b, 3, "");
        event(b, 7, "memory.events");
        event(b, 3, "");
        byte[] buf = java.util.Arrays.copyOf(b.array(), b.position());
        assertArrayEquals(new int[] {3, 7, 3}, OomMonitor.watchDescriptors(buf));
        // a truncated trailing record (never sent by the kernel) is ignored, not misread
        assertArrayEquals(new int[] {3, 7}, OomMonitor.watchDescriptors(java.util.Arrays.copyOf(buf, buf.length - 4)));
        assertArrayEquals(new int[0], OomMonitor.watchDescriptors(new byte[0]));
    }
}
