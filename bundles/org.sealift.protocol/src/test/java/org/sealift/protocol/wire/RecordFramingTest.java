package org.sealift.protocol.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/** The byte layouts of docs/protocol.md §2, written out by hand so that the code cannot drift from the spec. */
class RecordFramingTest {

    private static final HexFormat HEX = HexFormat.of();

    @Test
    void streamHeaderBytesAreAsSpecified() throws Exception {
        assertEquals("5345414c494654000001000100000000", HEX.formatHex(StreamHeader.secureV1().encode()));
        assertEquals("5345414c494654000001000000000000", HEX.formatHex(StreamHeader.plainV1().encode()));
        assertEquals(StreamHeader.plainV1(), StreamHeader.decode(HEX.parseHex("5345414c494654000001000000000000")));
    }

    @Test
    void recordIsHeaderBodyAndZeroPaddingToEightOctetsBigEndian() {
        byte[] body = {1, 2, 3};
        byte[] encoded = RecordEncoder.encode(new WireRecord(RecordType.HELLO, 0x0102030405060708L, body));
        assertEquals("00000001" + "00000003" + "0102030405060708" + "010203" + "0000000000",
                HEX.formatHex(encoded));
        assertEquals(0, encoded.length % 8);
    }

    @Test
    void optionalBitIsBit31() {
        assertTrue(RecordType.ROUND_STATS.isOptional());
        assertEquals(0x8000_0100, RecordType.ROUND_STATS.code());
        for (RecordType t : RecordType.values()) {
            assertEquals(t == RecordType.ROUND_STATS, t.isOptional(), t.toString());
        }
    }

    @Test
    void handshakeTypeCodesAreTheOnesTheHandshakeRelieson() {
        assertEquals(1, RecordType.HELLO.code());
        assertEquals(2, RecordType.HELLO_REPLY.code());
        assertEquals(3, RecordType.FINISH.code());
        assertEquals(RecordType.SEALED, RecordType.forCode(0x11));
        assertNull(RecordType.forCode(0x99));
    }

    @Test
    void maximaInTheRegistryFollowFromTheBodyLayouts() {
        assertEquals(8 + 8 * 1024 + 4096 * 1024, RecordType.PAGE_BATCH.maxLength());
        assertEquals(32 + 65_536 + 16, RecordType.SEALED.maxLength());
        assertEquals(32 + 8 + 16, RecordType.SEALED.minLength());
        assertEquals(33_734_736 + 16, RecordType.MANIFEST.maxLength());
        // the largest HELLO_REPLY of protocol-handshake.md §2: header, 8-certificate chain, signature, MAC
        assertEquals(96 + 8 + 8 * (8 + 16_384) + 64 + 32, RecordType.HELLO_REPLY.maxLength());
        assertTrue(RecordType.HELLO.maxLength() >= 112 + 8 + 8 * (8 + 16_384));
    }

    @Test
    void encoderRefusesABodyThatBreaksTheTypesLengthRules() {
        assertThrows(IllegalArgumentException.class, () -> new WireRecord(RecordType.END, 0, new byte[8]));
        assertThrows(IllegalArgumentException.class, () -> new WireRecord(RecordType.SEALED, 0, new byte[4145]));
    }

    @Test
    void writerAndReaderCarryAStreamOverJavaIo() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RecordWriter w = new RecordWriter(out, StreamHeader.plainV1());
        byte[] ctx = new VcpuContextRecord(1, new byte[64]).encode();
        w.write(RecordType.VCPU_CONTEXT, ctx);
        w.end();
        assertThrows(IllegalStateException.class, () -> w.write(RecordType.VCPU_CONTEXT, ctx));

        RecordReader r = new RecordReader(new ByteArrayInputStream(out.toByteArray()));
        WireRecord first = r.read();
        assertEquals(StreamHeader.plainV1(), r.streamHeader());
        assertEquals(new VcpuContextRecord(1, new byte[64]), VcpuContextRecord.decode(first.body()));
        assertEquals(RecordType.END, r.read().type());
        assertNull(r.read());
    }

    @Test
    void readerReportsACutStreamAsTruncated() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RecordWriter w = new RecordWriter(out, StreamHeader.plainV1());
        w.write(RecordType.VCPU_CONTEXT, new VcpuContextRecord(1, new byte[64]).encode());
        byte[] cut = Arrays.copyOf(out.toByteArray(), out.size() - 5);
        RecordReader r = new RecordReader(new ByteArrayInputStream(cut));
        ProtocolException e = assertThrows(ProtocolException.class, r::read);
        assertEquals(Reason.TRUNCATED, e.reason());
    }

    @Test
    void writerRefusesToSendAControlRecordWithoutSealingIt() throws Exception {
        RecordWriter w = new RecordWriter(new ByteArrayOutputStream(), StreamHeader.secureV1());
        assertThrows(IllegalArgumentException.class, () -> w.write(RecordType.MANIFEST, new byte[96]));
    }

    @Test
    void roundStatsAndVcpuContextRoundTrip() throws Exception {
        RoundStatsRecord s = new RoundStatsRecord(3, 100, 20, 7, 123_456, 9, 1_000_000, 42);
        assertEquals(s, RoundStatsRecord.decode(s.encode()));
        byte[] ctx = new byte[72];
        ctx[5] = 9;
        VcpuContextRecord v = new VcpuContextRecord(4, ctx);
        VcpuContextRecord back = VcpuContextRecord.decode(v.encode());
        assertEquals(4, back.vcpuId());
        assertArrayEquals(ctx, back.context());
    }
}
