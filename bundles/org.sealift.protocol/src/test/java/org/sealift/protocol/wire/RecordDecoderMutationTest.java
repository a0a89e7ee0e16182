package org.sealift.protocol.wire;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;

/**
 * Randomly corrupted streams (fixed seed, so a failure reproduces): the decoder may accept or refuse them, but it
 * must only ever fail with a ProtocolException, never with an unchecked exception that would kill a receiver thread.
 */
class RecordDecoderMutationTest {

    private static byte[] validStream() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RecordWriter w = new RecordWriter(out, StreamHeader.secureV1());
        w.write(RecordType.HELLO, new byte[21]);
        byte[] page = new byte[4096];
        page[7] = 1;
        w.write(RecordType.PAGE_BATCH, new PageBatch.Builder().page(1, page, 0).zero(2).zero(3).build());
        w.write(RecordType.VCPU_CONTEXT, new VcpuContextRecord(0, new byte[48]).encode());
        w.write(RecordType.ROUND_STATS, new RoundStatsRecord(1, 1, 0, 2, 4096, 0, 5, 6).encode());
        w.end();
        return out.toByteArray();
    }

    @Test
    void corruptedStreamsFailOnlyWithProtocolExceptions() throws Exception {
        byte[] valid = validStream();
        Random random = new Random(20261127);
        int accepted = 0;
        for (int round = 0; round < 3000; round++) {
            byte[] bytes = valid.clone();
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) {
                // bias towards the headers, where the interesting fields are
                int pos = random.nextBoolean() ? random.nextInt(Math.min(64, bytes.length))
                        : random.nextInt(bytes.length);
                bytes[pos] = (byte) random.nextInt(256);
            }
            int length = random.nextInt(10) == 0 ? random.nextInt(bytes.length) : bytes.length;
            RecordDecoder d = new RecordDecoder();
            try {
                int off = 0;
                while (off < length) {
                    int n = Math.min(length - off, 1 + random.nextInt(600));
                    d.feed(ByteBuffer.wrap(bytes, off, n));
                    off += n;
                    for (WireRecord r; (r = d.next()) != null;) {
                        decodeBody(r);
                    }
                }
                d.endOfInput();
                accepted++;
            } catch (ProtocolException expected) {
                // refused: fine
            } catch (RuntimeException e) {
                fail("round " + round + ": " + e, e);
            }
        }
        // sanity: the mutations do not all land in the page data, some streams still decode
        assertEquals(true, accepted > 0 && accepted < 3000, "accepted " + accepted);
    }

    private static void decodeBody(WireRecord r) throws ProtocolException {
        switch (r.type()) {
            case PAGE_BATCH:
                PageBatch.decode(r.body());
                break;
            case VCPU_CONTEXT:
                VcpuContextRecord.decode(r.body());
                break;
            case ROUND_STATS:
                RoundStatsRecord.decode(r.body());
                break;
            default:
                break;
        }
    }
}
