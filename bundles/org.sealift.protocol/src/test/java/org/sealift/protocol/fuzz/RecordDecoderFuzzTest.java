package org.sealift.protocol.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.wire.RecordDecoder;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.RoundStatsRecord;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;

/**
 * Fuzzes the incremental record decoder (docs/protocol.md §2) with arbitrary and with edited valid streams. For every
 * input: nothing but {@link ProtocolException} escapes; it allocates at most the largest registered body (lengths
 * are checked before allocating) plus a little per input octet; cutting the input into chunks changes nothing;
 * a failure is sticky; and whatever decodes re-encodes to exactly the octets it came from.
 */
class RecordDecoderFuzzTest {

    private static final long LARGEST_BODY =
            Arrays.stream(RecordType.values()).mapToLong(RecordType::maxLength).max().orElseThrow();
    private static final byte[] VALID_STREAM = validStream();

    /** One stream with a record of most kinds, an unknown optional record and END. */
    static byte[] validStream() {
        ByteArrayOutputStream s = new ByteArrayOutputStream();
        s.writeBytes(StreamHeader.secureV1().encode());
        s.writeBytes(RecordEncoder.encode(new WireRecord(RecordType.HELLO, 0, filled(37, 1))));
        s.writeBytes(RecordEncoder.encode(new WireRecord(RecordType.SEALED, 1, filled(56, 2))));
        // an optional record type this implementation does not know: skipped, never buffered
        s.writeBytes(ByteBuffer.allocate(24).putInt(RecordType.OPTIONAL_BIT | 0x777).putInt(5).putLong(2)
                .put(filled(5, 9)).array());
        s.writeBytes(RecordEncoder.encode(new WireRecord(RecordType.ROUND_STATS, 3,
                filled(RoundStatsRecord.BODY_LENGTH, 3))));
        s.writeBytes(RecordEncoder.encode(new WireRecord(RecordType.MANIFEST, 0, filled(96, 4))));
        s.writeBytes(RecordEncoder.encode(new WireRecord(RecordType.RELEASE, 1, filled(80, 5))));
        s.writeBytes(RecordEncoder.encode(WireRecord.end(4)));
        return s.toByteArray();
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }

    /** What decoding one input gave: the records, the failure (null if the stream was complete) and counters. */
    record Outcome(List<WireRecord> records, Reason failure, StreamHeader header, long skipped) {
    }

    @FuzzTest(maxDuration = "60s")
    void decode(FuzzedDataProvider data) {
        int chunk = data.consumeInt(1, 64);
        byte[] in = FuzzSupport.input(data, VALID_STREAM);

        Outcome whole = decode(in, Math.max(1, in.length));
        // measured on a second run: the first may load (and instrument) classes, which allocates
        long before = FuzzSupport.allocatedBytes();
        decode(in, Math.max(1, in.length));
        long allocated = FuzzSupport.allocatedBytes() - before;
        assertTrue(allocated <= LARGEST_BODY + 16L * in.length + (1 << 20), () -> "decoding " + in.length
                + " octets allocated " + allocated + " octets; the limit is the largest body (" + LARGEST_BODY
                + ") plus a little per input octet: a length was trusted before it was checked");

        Outcome chunked = decode(in, chunk);
        assertEquals(whole, chunked, "feeding in chunks of " + chunk + " octets changed the result");

        if (whole.header() != null && whole.skipped() == 0) {
            ByteArrayOutputStream again = new ByteArrayOutputStream();
            again.writeBytes(whole.header().encode());
            whole.records().forEach(r -> again.writeBytes(RecordEncoder.encode(r)));
            byte[] expected = again.toByteArray();
            if (whole.failure() == null) {
                assertArrayEquals(in, expected, "a complete stream re-encodes to exactly its input");
            } else {
                assertTrue(expected.length <= in.length, "decoded records are made of input octets");
                assertArrayEquals(expected, Arrays.copyOf(in, expected.length),
                        "the records decoded before a failure re-encode to the input they came from");
            }
        }
    }

    private static Outcome decode(byte[] in, int chunk) {
        RecordDecoder d = new RecordDecoder();
        List<WireRecord> records = new ArrayList<>();
        Reason failure = null;
        try {
            for (int off = 0; off < in.length; off += chunk) {
                d.feed(in, off, Math.min(chunk, in.length - off));
                drain(d, records);
            }
            d.endOfInput();
            assertTrue(d.isEnded(), "endOfInput accepted a stream without END");
        } catch (ProtocolException e) {
            failure = e.reason();
            drainAfterFailure(d, records, e);
            ProtocolException again = assertThrows(ProtocolException.class, () -> d.feed(new byte[1], 0, 1));
            assertSame(e, again, "after a failure the decoder keeps failing with the same error");
        }
        return new Outcome(records, failure, d.streamHeader(), d.skippedOptionalRecords());
    }

    private static void drain(RecordDecoder d, List<WireRecord> into) throws ProtocolException {
        for (WireRecord r = d.next(); r != null; r = d.next()) {
            assertTrue(r.type().acceptsLength(r.body().length), "record outside its type's length rules: " + r);
            into.add(r);
        }
    }

    /** Records completed before the failing octet stay available; after them the failure is reported again. */
    private static void drainAfterFailure(RecordDecoder d, List<WireRecord> into, ProtocolException failure) {
        while (true) {
            try {
                WireRecord r = d.next();
                if (r == null) {
                    return;
                }
                into.add(r);
            } catch (ProtocolException e) {
                assertSame(failure, e, "next() after a failure reports that failure");
                return;
            }
        }
    }
}
