package org.sealift.protocol.handshake;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.Messages.Finish;
import org.sealift.protocol.handshake.Messages.Hello;
import org.sealift.protocol.handshake.Messages.HelloReply;

/** The handshake bodies have exactly one encoding; the layouts are the ones in docs/protocol-handshake.md. */
class MessagesTest {

    private static final MigrationId ID = MigrationId.parse("00112233445566778899aabbccddeeff");
    private static final UUID VM = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static Hello hello(List<byte[]> chain) {
        return new Hello(1, 1, 7, ID, VM, filled(32, 0xa1), filled(32, 0xe1), chain);
    }

    private static ProtocolException malformed(org.junit.jupiter.api.function.Executable e) {
        ProtocolException x = assertThrows(ProtocolException.class, e);
        assertEquals(Reason.MALFORMED, x.reason(), x.getMessage());
        return x;
    }

    @Test
    void helloLayoutMatchesTheSpecTable() {
        byte[] b = hello(List.of(new byte[] {1, 2, 3}, filled(8, 9))).encode();
        ByteBuffer bb = ByteBuffer.wrap(b);
        assertEquals(1, bb.getInt(0));
        assertEquals(1, bb.getInt(4));
        assertEquals(7, bb.getLong(8));
        assertEquals("00112233445566778899aabbccddeeff", HexFormat.of().formatHex(b, 16, 32));
        assertEquals("0123456789abcdef0123456789abcdef", HexFormat.of().formatHex(b, 32, 48));
        assertArrayEquals(filled(32, 0xa1), Arrays.copyOfRange(b, 48, 80));
        assertArrayEquals(filled(32, 0xe1), Arrays.copyOfRange(b, 80, 112));
        assertEquals(2, bb.getInt(112)); // chain count
        assertEquals(0, bb.getInt(116));
        assertEquals(3, bb.getInt(120)); // first certificate length, then 3 bytes and 5 of padding
        assertEquals(0, bb.getInt(124));
        assertArrayEquals(new byte[] {1, 2, 3, 0, 0, 0, 0, 0}, Arrays.copyOfRange(b, 128, 136));
        assertEquals(8, bb.getInt(136));
        assertEquals(152, b.length);
        assertEquals(0, b.length % 8);
    }

    @Test
    void helloRoundTrips() throws ProtocolException {
        byte[] b = hello(List.of(filled(300, 5), filled(17, 6))).encode();
        Hello h = Hello.decode(b);
        assertEquals(VM, h.vmId());
        assertEquals(ID, h.migrationId());
        assertEquals(2, h.chain().size());
        assertArrayEquals(filled(17, 6), h.chain().get(1));
        assertArrayEquals(b, h.encode());
    }

    @Test
    void replayCoreIsExactlyTheBytesBeforeTheSignature() throws ProtocolException {
        byte[] core = HelloReply.encodeCore(1, 1, 9, ID, filled(32, 0xd1), filled(32, 0xe2), List.of(filled(10, 3)));
        byte[] body = HelloReply.encode(core, filled(64, 0x51), filled(32, 0x3a));
        HelloReply r = HelloReply.decode(body);
        assertArrayEquals(core, r.core());
        assertArrayEquals(filled(64, 0x51), r.signature());
        assertArrayEquals(filled(32, 0x3a), r.mac());
        assertEquals(9, r.policySerial());
        assertEquals(core.length + 96, body.length);
        assertEquals(0, body.length % 8);
    }

    @Test
    void finishRoundTrips() throws ProtocolException {
        byte[] b = new Finish(ID, filled(64, 1), filled(32, 2)).encode();
        assertEquals(112, b.length);
        assertEquals(ID, Finish.decode(b).migrationId());
    }

    @Test
    void truncatedMessagesAreMalformedNotOutOfBounds() {
        byte[] hello = hello(List.of(filled(20, 5))).encode();
        for (int cut = 0; cut < hello.length; cut++) {
            byte[] shorter = Arrays.copyOf(hello, cut);
            malformed(() -> Hello.decode(shorter));
        }
        byte[] finish = new Finish(ID, filled(64, 1), filled(32, 2)).encode();
        malformed(() -> Finish.decode(Arrays.copyOf(finish, 111)));
    }

    @Test
    void trailingBytesAreMalformed() {
        byte[] finish = new Finish(ID, filled(64, 1), filled(32, 2)).encode();
        malformed(() -> Finish.decode(Arrays.copyOf(finish, 120)));
        byte[] hello = hello(List.of(filled(8, 5))).encode();
        malformed(() -> Hello.decode(Arrays.copyOf(hello, hello.length + 8)));
    }

    @Test
    void nonZeroReservedOrPaddingIsMalformedSoThereIsOneEncoding() {
        byte[] hello = hello(List.of(filled(3, 5))).encode();
        byte[] reserved = hello.clone();
        reserved[119] = 1; // chain reserved
        malformed(() -> Hello.decode(reserved));
        byte[] certReserved = hello.clone();
        certReserved[127] = 1;
        malformed(() -> Hello.decode(certReserved));
        byte[] padding = hello.clone();
        padding[135] = 1;
        malformed(() -> Hello.decode(padding));
    }

    @Test
    void hugeChainCountIsRefusedBeforeAllocating() {
        byte[] hello = hello(List.of()).encode();
        ByteBuffer.wrap(hello).putInt(112, 0x7fff_ffff);
        ProtocolException e = malformed(() -> Hello.decode(hello));
        assertEquals(true, e.getMessage().contains("limit 8"), e.getMessage());
    }

    @Test
    void hugeCertificateLengthIsRefusedBeforeAllocating() {
        byte[] hello = hello(List.of(filled(8, 1))).encode();
        ByteBuffer.wrap(hello).putInt(120, 0xffff_fff0);
        malformed(() -> Hello.decode(hello));
        ByteBuffer.wrap(hello).putInt(120, 16 * 1024 + 1);
        malformed(() -> Hello.decode(hello));
    }

    @Test
    void emptyChainParsesSoTheHandshakeCanReportUnattested() throws ProtocolException {
        assertEquals(0, Hello.decode(hello(List.of()).encode()).chain().size());
    }
}
