package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class PagesTest {

    @Test
    void aSingleNonZeroByteAnywhereInThePageIsSeen() {
        ByteBuffer mem = Pages.nativeOrder(ByteBuffer.allocateDirect(3 * Pages.SIZE));
        assertTrue(Pages.isZero(mem, Pages.SIZE));
        for (int i = 0; i < Pages.SIZE; i++) {
            mem.put(Pages.SIZE + i, (byte) 1);
            assertFalse(Pages.isZero(mem, Pages.SIZE), "byte " + i + " set");
            mem.put(Pages.SIZE + i, (byte) 0);
        }
        // neighbours do not leak into the page looked at
        mem.put(Pages.SIZE - 1, (byte) 9);
        mem.put(2 * Pages.SIZE, (byte) 9);
        assertTrue(Pages.isZero(mem, Pages.SIZE));
    }
}
