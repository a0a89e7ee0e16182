package org.sealift.protocol.fuzz;

import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;

/** What the fuzz targets share: mutating a valid encoding with fuzzer-chosen edits, and counting allocation. */
final class FuzzSupport {

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private FuzzSupport() {
    }

    /** Octets this thread has allocated so far (HotSpot counts them per thread, cheaply). */
    static long allocatedBytes() {
        return THREADS.getCurrentThreadAllocatedBytes();
    }

    /**
     * Either raw fuzzer bytes, or {@code base} (a valid encoding) with up to 8 fuzzer-chosen edits. Edits that
     * write 32-bit big-endian values aim at length and count fields, where a parser is most likely to trust a
     * number it has not checked.
     */
    static byte[] input(FuzzedDataProvider data, byte[] base) {
        if (data.consumeBoolean()) {
            return data.consumeRemainingAsBytes();
        }
        byte[] b = base.clone();
        int edits = data.consumeInt(0, 8);
        for (int i = 0; i < edits && b.length > 0; i++) {
            int at = data.consumeInt(0, b.length - 1);
            switch (data.consumeInt(0, 5)) {
                case 0 -> b[at] = data.consumeByte();
                case 1 -> b[at] ^= (byte) (1 << data.consumeInt(0, 7));
                case 2 -> {
                    if (at + 4 <= b.length) {
                        ByteBuffer.wrap(b, at, 4).putInt(interestingInt(data));
                    }
                }
                case 3 -> b = Arrays.copyOf(b, at);                               // truncate
                case 4 -> b = splice(b, at, data.consumeBytes(data.consumeInt(1, 64)));  // insert
                default -> b = cut(b, at, data.consumeInt(1, 64));                  // delete
            }
        }
        return b;
    }

    private static int interestingInt(FuzzedDataProvider data) {
        switch (data.consumeInt(0, 6)) {
            case 0: return 0;
            case 1: return -1;
            case 2: return Integer.MAX_VALUE;
            case 3: return Integer.MIN_VALUE;
            case 4: return 1 << data.consumeInt(0, 30);
            case 5: return (1 << data.consumeInt(0, 30)) + data.consumeInt(-8, 8);
            default: return data.consumeInt();
        }
    }

    private static byte[] splice(byte[] b, int at, byte[] insert) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(b.length + insert.length);
        out.write(b, 0, at);
        out.writeBytes(insert);
        out.write(b, at, b.length - at);
        return out.toByteArray();
    }

    private static byte[] cut(byte[] b, int at, int n) {
        int end = Math.min(b.length, at + n);
        byte[] out = new byte[b.length - (end - at)];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(b, end, out, at, b.length - end);
        return out;
    }
}
