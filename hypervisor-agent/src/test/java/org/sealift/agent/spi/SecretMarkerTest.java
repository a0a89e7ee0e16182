package org.sealift.agent.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

class SecretMarkerTest {

    @Test
    void theScannerFindsTheMarkerWhereverItLiesAndOnlyThatSeedsMarker() {
        ByteBuffer written = ByteBuffer.allocate(SecretMarker.LENGTH);
        SecretMarker.writeTo(42, written);
        byte[] marker = written.array();
        SecretMarker m = SecretMarker.forSeed(42);
        for (int at : new int[] {0, 1, (1 << 16) - 10, (1 << 16) - 47, 200_000 - SecretMarker.LENGTH}) {
            byte[] hay = new byte[200_000];
            System.arraycopy(marker, 0, hay, at, SecretMarker.LENGTH);
            assertTrue(m.occursIn(ByteBuffer.wrap(hay)), "marker at " + at);
            assertEquals(at, m.indexIn(hay, 0, hay.length));
            assertFalse(SecretMarker.forSeed(43).occursIn(ByteBuffer.wrap(hay)));
            hay[at + SecretMarker.LENGTH - 1] ^= 1;
            assertFalse(m.occursIn(ByteBuffer.wrap(hay)), "one changed byte is no marker");
        }
    }
}
