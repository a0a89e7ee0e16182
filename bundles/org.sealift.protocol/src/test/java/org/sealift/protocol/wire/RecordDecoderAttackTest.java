package org.sealift.protocol.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/** A hostile peer controls every octet the decoder reads; each test plays one trick on the framing. */
class RecordDecoderAttackTest {

    private static byte[] header(int type, long length, long sequence) {
        return ByteBuffer.allocate(16).putInt(type).putInt((int) length).putLong(sequence).array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] streamHeader() {
        return StreamHeader.secureV1().encode();
    }

    private static byte[] end() {
        return header(RecordType.END.code(), 0, 9);
    }

    private static ProtocolException feedAndFail(byte[] bytes) {
        RecordDecoder d = new RecordDecoder();
        return assertThrows(ProtocolException.class, () -> {
            d.feed(ByteBuffer.wrap(bytes));
            while (d.next() != null) {
                // drain
            }
            d.endOfInput();
        });
    }

    @Test
    void aHeaderClaimingTheLargestManifestCostsOnlyTheInitialBufferUntilTheBodyArrives() throws Exception {
        // within the limits, but a peer that sends the header and then stalls must not pin 33 MB per connection
        int claimed = RecordType.MANIFEST.maxLength();
        RecordDecoder d = new RecordDecoder();
        d.feed(ByteBuffer.wrap(concat(streamHeader(), header(RecordType.MANIFEST.code(), claimed, 1),
                new byte[100])));
        assertEquals(RecordDecoder.INITIAL_BODY_CAPACITY, d.bufferedBodyCapacity());
        assertNull(d.next());
    }

    @Test
    void aLargeBodyArrivingInOddChunksGrowsItsBufferAndDecodesExactly() throws Exception {
        int length = 3 * RecordDecoder.INITIAL_BODY_CAPACITY + 8 * 13;
        byte[] body = new byte[length];
        new java.util.Random(7).nextBytes(body);
        byte[] stream = concat(streamHeader(), header(RecordType.MANIFEST.code(), length, 1), body, end());
        RecordDecoder d = new RecordDecoder();
        int capacityBefore = -1;
        for (int off = 0; off < stream.length; off += 1_000) {
            d.feed(stream, off, Math.min(1_000, stream.length - off));
            if (capacityBefore < 0 && d.bufferedBodyCapacity() > 0) {
                capacityBefore = d.bufferedBodyCapacity();
            }
        }
        assertEquals(RecordDecoder.INITIAL_BODY_CAPACITY, capacityBefore, "the buffer started small");
        WireRecord manifest = d.next();
        assertEquals(RecordType.MANIFEST, manifest.type());
        assertArrayEquals(body, manifest.body());
        assertEquals(RecordType.END, d.next().type());
        d.endOfInput();
    }

    @Test
    void oversizedLengthIsRejectedFromTheHeaderAloneBeforeAnyBodyIsBuffered() {
        // 4 GiB - 16 claimed for a SEALED record: a decoder that trusted it would try to allocate it
        RecordDecoder d = new RecordDecoder();
        ProtocolException e = assertThrows(ProtocolException.class, () -> d.feed(ByteBuffer.wrap(
                concat(streamHeader(), header(RecordType.SEALED.code(), 0xFFFF_FFF0L, 0)))));
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("SEALED"), e.getMessage());
        assertEquals(32, d.offset(), "nothing beyond the two headers was needed to reject it");
    }

    @Test
    void lengthOneAboveTheTypeMaximumIsRejected() {
        int over = RecordType.PAGE_BATCH.maxLength() + 8;
        assertEquals(Reason.MALFORMED, feedAndFail(concat(streamHeader(),
                header(RecordType.PAGE_BATCH.code(), over, 0))).reason());
    }

    @Test
    void controlRecordShorterThanItsTagIsRejected() {
        assertEquals(Reason.MALFORMED, feedAndFail(concat(streamHeader(), header(RecordType.RELEASE.code(), 8, 0),
                new byte[8])).reason());
    }

    @Test
    void misalignedLengthOfAPageBatchIsRejectedBeforeAllocation() {
        RecordDecoder d = new RecordDecoder();
        ProtocolException e = assertThrows(ProtocolException.class, () -> d.feed(ByteBuffer.wrap(concat(
                streamHeader(), header(RecordType.PAGE_BATCH.code(), 8 + 8 + 4096 + 1, 0)))));
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("misaligned"), e.getMessage());
    }

    @Test
    void misalignedLengthOfASealedRecordIsRejected() {
        assertEquals(Reason.MALFORMED, feedAndFail(concat(streamHeader(),
                header(RecordType.SEALED.code(), 4144 - 4, 0))).reason());
    }

    @Test
    void unknownMandatoryRecordStopsTheStream() {
        ProtocolException e = feedAndFail(concat(streamHeader(), header(0x0000_0077, 8, 0), new byte[8], end()));
        assertEquals(Reason.UNKNOWN_MANDATORY_RECORD, e.reason());
        assertTrue(e.getMessage().contains("0x00000077"), e.getMessage());
    }

    @Test
    void unknownOptionalRecordIsSkippedWithItsPaddingAndTheNextRecordDecodes() throws Exception {
        byte[] stats = new RoundStatsRecord(1, 2, 3, 4, 5, 6, 7, 8).encode();
        byte[] bytes = concat(streamHeader(), header(0x8000_0777, 13, 0), new byte[13], new byte[3],
                header(RecordType.ROUND_STATS.code(), stats.length, 1), stats, end());
        RecordDecoder d = new RecordDecoder();
        d.feed(ByteBuffer.wrap(bytes));
        WireRecord r = d.next();
        assertEquals(RecordType.ROUND_STATS, r.type());
        assertEquals(new RoundStatsRecord(1, 2, 3, 4, 5, 6, 7, 8), RoundStatsRecord.decode(r.body()));
        assertEquals(RecordType.END, d.next().type());
        assertNull(d.next());
        assertEquals(1, d.skippedOptionalRecords());
        d.endOfInput();
    }

    @Test
    void unknownOptionalRecordLargerThanTheSkipLimitIsRejected() {
        assertEquals(Reason.MALFORMED, feedAndFail(concat(streamHeader(),
                header(0x8000_0777, RecordType.UNKNOWN_OPTIONAL_MAX_LENGTH + 8L, 0))).reason());
    }

    @Test
    void streamCutInsideABodyIsTruncated() {
        byte[] batch = new PageBatch.Builder().page(5, new byte[4096], 0).build();
        byte[] whole = concat(streamHeader(), header(RecordType.PAGE_BATCH.code(), batch.length, 0), batch, end());
        ProtocolException e = feedAndFail(Arrays.copyOf(whole, 16 + 16 + 100));
        assertEquals(Reason.TRUNCATED, e.reason());
        assertTrue(e.getMessage().contains("PAGE_BATCH"), e.getMessage());
    }

    @Test
    void streamCutBetweenRecordsWithoutEndIsTruncated() {
        byte[] batch = new PageBatch.Builder().zero(5).build();
        assertEquals(Reason.TRUNCATED, feedAndFail(concat(streamHeader(),
                header(RecordType.PAGE_BATCH.code(), batch.length, 0), batch)).reason());
    }

    @Test
    void streamCutInsideTheStreamHeaderIsTruncated() {
        assertEquals(Reason.TRUNCATED, feedAndFail(Arrays.copyOf(streamHeader(), 7)).reason());
    }

    @Test
    void nonZeroPaddingIsRejected() {
        byte[] body = new byte[17];
        byte[] padding = {0, 0, 0, 0, 0, 0, 1};
        assertEquals(Reason.MALFORMED, feedAndFail(concat(streamHeader(), header(RecordType.HELLO.code(), 17, 0),
                body, padding, end())).reason());
    }

    @Test
    void octetsAfterEndAreRejected() {
        assertEquals(Reason.MALFORMED, feedAndFail(concat(streamHeader(), end(), new byte[8])).reason());
    }

    @Test
    void foreignMagicIsRejected() {
        byte[] h = streamHeader();
        h[0] = 'X';
        assertEquals(Reason.MALFORMED, feedAndFail(concat(h, end())).reason());
    }

    /** No version below 1 exists: a header rewritten to a lower one is an attempted downgrade, and says so. */
    @Test
    void versionRewrittenBelowOneIsADowngrade() throws Exception {
        byte[] h = streamHeader();
        h[9] = 0;
        ProtocolException e = feedAndFail(concat(h, end()));
        assertEquals(Reason.DOWNGRADE, e.reason());
        assertTrue(e.getMessage().contains("version 0"), e.getMessage());
        // a reader that leaves the version to the hypervisor still gets the rest of the header checked
        StreamHeader parsed = StreamHeader.parse(h);
        assertEquals(0, parsed.version());
        assertEquals(Reason.DOWNGRADE, assertThrows(ProtocolException.class, parsed::requireSpoken).reason());
        h[0] = 'X';
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> StreamHeader.parse(h)).reason());
    }

    @Test
    void unsupportedVersionIsRejected() {
        byte[] h = streamHeader();
        h[9] = 2;
        ProtocolException e = feedAndFail(concat(h, end()));
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("version 2"), e.getMessage());
    }

    @Test
    void reservedFlagBitsAreRejected() {
        byte[] h = streamHeader();
        h[10] = (byte) 0x80;
        assertEquals(Reason.MALFORMED, feedAndFail(concat(h, end())).reason());
    }

    @Test
    void aFailureIsStickySoTheRestOfABrokenStreamIsNeverInterpreted() throws Exception {
        RecordDecoder d = new RecordDecoder();
        assertThrows(ProtocolException.class, () -> d.feed(ByteBuffer.wrap(concat(streamHeader(),
                header(0x0000_0077, 0, 0)))));
        ProtocolException again = assertThrows(ProtocolException.class, () -> d.feed(ByteBuffer.wrap(end())));
        assertEquals(Reason.UNKNOWN_MANDATORY_RECORD, again.reason());
        assertThrows(ProtocolException.class, d::endOfInput);
    }

    @Test
    void recordsSplitAtEveryOctetDecodeTheSame() throws Exception {
        byte[] batch = new PageBatch.Builder().page(3, filled(4096, 7), 0).zero(4).build();
        byte[] hello = new byte[13];
        Arrays.fill(hello, (byte) 0x42);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RecordWriter w = new RecordWriter(out, StreamHeader.secureV1());
        w.write(RecordType.HELLO, hello);
        w.write(RecordType.PAGE_BATCH, batch);
        w.end();
        byte[] bytes = out.toByteArray();

        RecordDecoder d = new RecordDecoder();
        java.util.List<WireRecord> got = new java.util.ArrayList<>();
        for (byte b : bytes) {
            d.feed(ByteBuffer.wrap(new byte[] {b}));
            for (WireRecord r; (r = d.next()) != null;) {
                got.add(r);
            }
        }
        d.endOfInput();
        assertEquals(3, got.size());
        assertEquals(new WireRecord(RecordType.HELLO, 0, hello), got.get(0));
        assertEquals(new WireRecord(RecordType.PAGE_BATCH, 1, batch), got.get(1));
        assertEquals(RecordType.END, got.get(2).type());
        assertTrue(StreamHeader.secureV1().equals(d.streamHeader()));
        assertArrayEquals(filled(4096, 7), PageBatch.decode(got.get(1).body()).copyPage(0));
    }

    static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
