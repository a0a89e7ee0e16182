package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.SealedBatch;

/** dom0's copies of the sealed-page slots: lent buffers are reused, batches never see later sealings. */
class SealedSlotReaderTest {

    static final int R = SealedSlotReader.PAGE_RECORD;

    @TempDir
    Path dir;

    /** A slot file whose slot {@code i} is filled with octet {@code i + 1}. */
    private Path slots(int n) throws Exception {
        int size = ((n * R + MappedPages.PAGE - 1) / MappedPages.PAGE) * MappedPages.PAGE;
        byte[] b = new byte[size];
        for (int i = 0; i < n; i++) {
            Arrays.fill(b, i * R, (i + 1) * R, (byte) (i + 1));
        }
        return Files.write(dir.resolve("slots"), b);
    }

    private static byte[] bytes(SealedBatch batch, int i) {
        ByteBuffer r = batch.record(i);
        byte[] out = new byte[r.remaining()];
        r.get(out);
        return out;
    }

    private static byte[] filled(int octet) {
        byte[] b = new byte[R];
        Arrays.fill(b, (byte) octet);
        return b;
    }

    @Test
    void aBatchKeepsItsRecordsWhileLaterOnesAreCopiedAndReleasedBuffersAreReused() throws Exception {
        Path file = slots(4);
        try (SealedSlotReader reader = new SealedSlotReader()) {
            SealedBatch a = reader.copy(file.toString(), new long[] {10, 11}, new long[] {1, 1},
                    new long[] {0, R});
            SealedBatch b = reader.copy(file.toString(), new long[] {12, 13}, new long[] {1, 1},
                    new long[] {2L * R, 3L * R});
            // b's copy did not touch a (a is not released)
            assertArrayEquals(filled(1), bytes(a, 0));
            assertArrayEquals(filled(2), bytes(a, 1));
            assertArrayEquals(filled(3), bytes(b, 0));
            assertEquals(0, reader.pooled());

            a.release();
            a.release(); // idempotent: the buffer is pooled once
            assertEquals(1, reader.pooled());
            SealedBatch c = reader.copy(file.toString(), new long[] {13, 10}, new long[] {2, 2},
                    new long[] {3L * R, 0});
            assertEquals(0, reader.pooled(), "the released buffer served the next batch");
            assertEquals(2 * R, c.byteLength());
            assertArrayEquals(filled(4), bytes(c, 0));
            assertArrayEquals(filled(1), bytes(c, 1));
            assertEquals(13, c.id(0));
            assertEquals(2, c.version(1));
            // the batch that was never released still holds its own records
            assertArrayEquals(filled(4), bytes(b, 1));
        }
    }

    @Test
    void thePoolIsBounded() throws Exception {
        Path file = slots(1);
        try (SealedSlotReader reader = new SealedSlotReader()) {
            SealedBatch[] batches = new SealedBatch[SealedSlotReader.POOLED + 5];
            for (int i = 0; i < batches.length; i++) {
                batches[i] = reader.copy(file.toString(), new long[] {1}, new long[] {1}, new long[] {0});
            }
            for (SealedBatch b : batches) {
                b.release();
            }
            assertEquals(SealedSlotReader.POOLED, reader.pooled());
        }
    }
}
