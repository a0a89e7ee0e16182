package org.sealift.protocol.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

class PageBatchTest {

    private static byte[] page(int seed) {
        byte[] p = new byte[PageBatch.PAGE_SIZE];
        for (int i = 0; i < p.length; i++) {
            p[i] = (byte) (i * 31 + seed);
        }
        return p;
    }

    @Test
    void pagesAndZeroMarkersRoundTripWithDataInEntryOrder() throws Exception {
        byte[] a = page(1);
        byte[] b = page(2);
        byte[] body = new PageBatch.Builder().page(10, a, 0).zero(11).page(PageBatch.MAX_PFN, b, 0).build();
        assertEquals(8 + 3 * 8 + 2 * 4096, body.length);
        assertEquals(0x8000_0000_0000_000BL, ByteBuffer.wrap(body).getLong(16), "zero marker is bit 63 | pfn");

        PageBatch batch = PageBatch.decode(body);
        assertEquals(3, batch.count());
        assertEquals(10, batch.pfn(0));
        assertFalse(batch.isZero(0));
        assertTrue(batch.isZero(1));
        assertEquals(-1, batch.dataOffset(1));
        assertEquals(PageBatch.MAX_PFN, batch.pfn(2));
        assertArrayEquals(a, batch.copyPage(0));
        assertArrayEquals(new byte[4096], batch.copyPage(1));
        assertArrayEquals(b, batch.copyPage(2));
        assertTrue(batch.data() == body, "decoding does not copy the megabytes of a batch");
    }

    @Test
    void bodyLongerThanItsEntriesNeedIsMalformed() {
        byte[] body = new PageBatch.Builder().zero(1).build();
        byte[] longer = Arrays.copyOf(body, body.length + 4096);
        ProtocolException e = assertThrows(ProtocolException.class, () -> PageBatch.decode(longer));
        assertEquals(Reason.MALFORMED, e.reason());
    }

    @Test
    void bodyShorterThanItsEntriesNeedIsMalformed() {
        byte[] body = new PageBatch.Builder().page(1, page(0), 0).build();
        ByteBuffer.wrap(body).putInt(0, 2); // claims two entries, carries one
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> PageBatch.decode(body)).reason());
    }

    @Test
    void countAboveTheBatchLimitIsMalformed() {
        byte[] body = new byte[16];
        ByteBuffer.wrap(body).putInt(0, 1025);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> PageBatch.decode(body)).reason());
    }

    @Test
    void samePfnTwiceInOneBatchIsMalformed() {
        byte[] body = new PageBatch.Builder().zero(7).page(7, page(3), 0).build();
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> PageBatch.decode(body)).reason());
    }

    @Test
    void reservedEntryBitsAreMalformed() {
        byte[] body = new PageBatch.Builder().zero(7).build();
        ByteBuffer.wrap(body).putLong(8, (1L << 63) | (1L << 60) | 7);
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> PageBatch.decode(body)).reason());
    }

    @Test
    void zeroPageCheckLooksAtEveryOctet() {
        byte[] p = new byte[4096 + 8];
        assertTrue(PageBatch.isZeroPage(p, 8));
        p[4096 + 7] = 1;
        assertFalse(PageBatch.isZeroPage(p, 8));
        assertTrue(PageBatch.isZeroPage(p, 0));
    }

    @Test
    void builderStopsAtTheBatchLimit() {
        PageBatch.Builder b = new PageBatch.Builder();
        for (int i = 0; i < PageBatch.MAX_PAGES; i++) {
            b.zero(i);
        }
        assertTrue(b.isFull());
        assertThrows(IllegalStateException.class, () -> b.zero(5000));
        b.clear();
        assertEquals(0, b.count());
    }
}
