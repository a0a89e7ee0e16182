package org.sealift.agent.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.wire.RecordDecoder;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.RecordWriter;
import org.sealift.protocol.wire.StreamHeader;
import org.sealift.protocol.wire.WireRecord;

/** The engine's pooled stream framing against the protocol library's reference encoder and decoder. */
class StreamFramingTest {

    private static final long SECOND = 1_000_000_000L;

    private static List<WireRecord> sample() {
        Random r = new Random(3);
        byte[] batch = new byte[8 + 8 * 2 + 4096];
        ByteBuffer b = ByteBuffer.wrap(batch);
        b.putInt(2).putInt(0).putLong(7).putLong((1L << 63) | 9);
        for (int i = 0; i < 4096; i++) {
            b.put((byte) r.nextInt());
        }
        byte[] hello = new byte[13];
        r.nextBytes(hello);
        byte[] manifest = new byte[40 * 1024 * 1024 / 8 * 8 / 10]; // bigger than one stream buffer
        r.nextBytes(manifest);
        return List.of(new WireRecord(RecordType.HELLO, 0, hello), new WireRecord(RecordType.PAGE_BATCH, 1, batch),
                new WireRecord(RecordType.MANIFEST, 0, manifest), WireRecord.end(3));
    }

    @Test
    void outboundBytesAreWhatTheReferenceDecoderAccepts() throws Exception {
        Transport[] pair = ChannelTransport.loopbackPair();
        try (Transport a = pair[0]; Transport b = pair[1]) {
            CompletableFuture<List<WireRecord>> got = CompletableFuture.supplyAsync(() -> {
                try {
                    RecordDecoder d = new RecordDecoder();
                    List<WireRecord> out = new ArrayList<>();
                    ByteBuffer buf = ByteBuffer.allocate(1 << 16);
                    while (!d.isEnded()) {
                        buf.clear();
                        b.readFully(buf.limit(8)); // the stream is a multiple of 8 octets
                        buf.flip();
                        d.feed(buf);
                        WireRecord w;
                        while ((w = d.next()) != null) {
                            out.add(w);
                        }
                    }
                    assertTrue(d.streamHeader().secure());
                    return out;
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            try (OutboundStream out = new OutboundStream(a, StreamHeader.secureV1(), BandwidthLimiter.unlimited(), 3,
                    "test-writer")) {
                for (WireRecord w : sample()) {
                    if (w.type() == RecordType.END) {
                        out.end();
                    } else {
                        out.write(w);
                    }
                }
                assertEquals(16 + sample().stream().mapToLong(WireRecord::encodedLength).sum(), out.bytesWritten());
            }
            assertEquals(sample(), got.get());
        }
    }

    @Test
    void inboundReadsWhatTheReferenceWriterWrote() throws Exception {
        Transport[] pair = ChannelTransport.pipePair();
        try (Transport a = pair[0]; Transport b = pair[1];
                InboundStream in = new InboundStream(b, 2, "test-reader")) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            RecordWriter w = new RecordWriter(bytes, StreamHeader.plainV1());
            for (WireRecord r : sample()) {
                if (r.type() != RecordType.END) {
                    w.write(r);
                }
            }
            // an unknown optional record in the middle is skipped
            bytes.write(new byte[] {(byte) 0x80, 0, 0x7f, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0});
            w.end();
            CompletableFuture.runAsync(() -> {
                try {
                    a.write(ByteBuffer.wrap(bytes.toByteArray()));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertEquals(StreamHeader.plainV1(), in.awaitHeader(10 * SECOND));
            List<WireRecord> got = new ArrayList<>();
            InboundStream.Frame f;
            do {
                f = in.next(10 * SECOND);
                assertNotNull(f, "a record within 10 s");
                got.add(f.toWireRecord());
                f.release();
            } while (f.type() != RecordType.END);
            assertEquals(sample(), got);
            assertEquals(1, in.skippedOptionalRecords());
        }
    }

    private static ProtocolException readBroken(byte[] records) throws Exception {
        Transport[] pair = ChannelTransport.pipePair();
        try (Transport a = pair[0]; Transport b = pair[1];
                InboundStream in = new InboundStream(b, 2, "test-reader")) {
            ByteBuffer all = ByteBuffer.allocate(16 + records.length);
            all.put(StreamHeader.secureV1().encode()).put(records).flip();
            a.write(all);
            a.shutdownOutput();
            in.awaitHeader(10 * SECOND);
            ProtocolException e = assertThrows(ProtocolException.class, () -> {
                while (true) {
                    InboundStream.Frame f = in.next(10 * SECOND);
                    assertNotNull(f, "an answer within 10 s");
                    f.release();
                }
            });
            // sticky: asking again gives the same failure
            ProtocolException again = assertThrows(ProtocolException.class, () -> in.next(SECOND));
            assertEquals(e.reason(), again.reason());
            return e;
        }
    }

    private static byte[] header(int type, int length, long seq) {
        return ByteBuffer.allocate(16).putInt(type).putInt(length).putLong(seq).array();
    }

    @Test
    void unknownMandatoryRecordStopsTheStream() throws Exception {
        ProtocolException e = readBroken(header(0x00000015, 0, 0));
        assertEquals(Reason.UNKNOWN_MANDATORY_RECORD, e.reason());
        assertTrue(e.getMessage().contains("0x00000015"), e.getMessage());
    }

    @Test
    void oversizedLengthIsRefusedBeforeAllocating() throws Exception {
        ProtocolException e = readBroken(header(RecordType.PAGE_BATCH.code(), 0x7fff_fff8, 0));
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("PAGE_BATCH"), e.getMessage());
    }

    @Test
    void misalignedLengthIsRefused() throws Exception {
        assertEquals(Reason.MALFORMED, readBroken(header(RecordType.SEALED.code(), 4097, 0)).reason());
    }

    @Test
    void nonZeroPaddingIsRefused() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(32);
        b.put(header(RecordType.HELLO.code(), 3, 0)).put(new byte[] {1, 2, 3, 0, 0, 0, 0, 9});
        assertEquals(Reason.MALFORMED, readBroken(b.array()).reason());
    }

    @Test
    void streamEndingInsideARecordIsTruncated() throws Exception {
        ByteBuffer b = ByteBuffer.allocate(16 + 100);
        b.put(header(RecordType.SEALED.code(), 4144, 0));
        ProtocolException e = readBroken(b.array());
        assertEquals(Reason.TRUNCATED, e.reason());
        assertTrue(e.getMessage().contains("before its END"), e.getMessage());
    }

    @Test
    void engineFramingMatchesTheReferenceEncoderOctetForOctet() throws Exception {
        Transport[] pair = ChannelTransport.pipePair();
        try (Transport a = pair[0]; Transport b = pair[1]) {
            WireRecord r = new WireRecord(RecordType.HELLO, 0, new byte[] {1, 2, 3, 4, 5});
            try (OutboundStream out = new OutboundStream(a, StreamHeader.secureV1(), BandwidthLimiter.unlimited(), 2,
                    "w")) {
                out.write(r);
                out.flush();
            }
            ByteBuffer got = ByteBuffer.allocate(16 + r.encodedLength());
            b.readFully(got);
            ByteBuffer expected = ByteBuffer.allocate(got.capacity());
            expected.put(StreamHeader.secureV1().encode());
            RecordEncoder.encode(r, expected);
            assertArrayEquals(expected.array(), got.array());
        }
    }
}
