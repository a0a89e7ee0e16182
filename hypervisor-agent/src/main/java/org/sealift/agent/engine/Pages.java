package org.sealift.agent.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Page-size constants and the zero-page check on mapped guest memory. */
public final class Pages {

    public static final int SIZE = 4096;
    public static final int SHIFT = 12;

    private Pages() {
    }

    /**
     * True when the 4 KiB page at byte {@code offset} of {@code memory} is all zero. Compares 64 bits at a time
     * (absolute reads, the buffer's position is untouched); most non-zero pages differ in their first word.
     */
    public static boolean isZero(ByteBuffer memory, long offset) {
        int o = Math.toIntExact(offset);
        long acc = 0;
        // a quick look at the first word rejects most data pages without touching the rest
        if (memory.getLong(o) != 0) {
            return false;
        }
        for (int i = 8; i < SIZE; i += 64) {
            acc |= memory.getLong(o + i) | memory.getLong(o + i + 8) | memory.getLong(o + i + 16)
                    | memory.getLong(o + i + 24) | memory.getLong(o + i + 32) | memory.getLong(o + i + 40)
                    | memory.getLong(o + i + 48);
            if (i + 56 < SIZE) {
                acc |= memory.getLong(o + i + 56);
            }
            if (acc != 0) {
                return false;
            }
        }
        return true;
    }

    /** Native order makes long reads on direct buffers plain loads; callers set it once on a mapping. */
    public static ByteBuffer nativeOrder(ByteBuffer b) {
        return b.order(ByteOrder.nativeOrder());
    }
}
