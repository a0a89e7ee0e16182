package org.sealift.protocol.attest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

class AttestationLogTest {

    private final Cluster cluster;
    private final Cluster.Host h1;
    private final Cluster.Host h2;

    AttestationLogTest() throws ProtocolException {
        cluster = new Cluster();
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
        cluster.migrate(h1, h2, Outcome.COMMITTED);
        cluster.migrate(h2, h1, Outcome.ABORTED_BY_SOURCE);
        cluster.migrate(h1, h2, Outcome.COMMITTED);
    }

    @Test
    void logFileRoundTripsByteForByte(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("h1.log");
        h1.file.save(f);
        AttestationLog back = AttestationLog.load(f);
        assertEquals("h1", back.hostId());
        assertEquals(3, back.size());
        assertArrayEquals(h1.file.encoded(), back.encoded());
        assertArrayEquals(h1.file.headHash(), back.headHash());
        assertEquals(h1.file.entries().get(1).record(), back.entries().get(1).record());
    }

    @Test
    void fileCutInsideAnEntryIsTruncatedAndEveryPrefixFailsCleanly() {
        byte[] enc = h1.file.encoded();
        int cut = enc.length - 10;
        var e = assertThrows(ProtocolException.class, () -> AttestationLog.parse(Arrays.copyOf(enc, cut)));
        assertEquals(Reason.TRUNCATED, e.reason());
        assertTrue(e.getMessage().contains("ends inside the entry at position 2"), e.getMessage());
        // any prefix either parses (cut at an entry boundary) or fails with a ProtocolException, nothing else
        int parsed = 0;
        for (int i = 0; i < enc.length; i++) {
            try {
                AttestationLog.parse(Arrays.copyOf(enc, i));
                parsed++;
            } catch (ProtocolException expected) {
                // fine
            }
        }
        assertEquals(3, parsed, "prefixes ending exactly at the header and the first two entries parse");
    }

    @Test
    void forgedRecordLengthIsRefusedBeforeAllocating() throws Exception {
        byte[] enc = h1.file.encoded();
        int lenOffset = 8 + 2 + 2 + 2 + 8 + 32; // header "SMP1/LOG", format, host id "h1", then index, prev
        enc[lenOffset] = 0x7f; // 2 GiB record
        var e = assertThrows(ProtocolException.class, () -> AttestationLog.parse(enc));
        assertEquals(Reason.MALFORMED, e.reason());
        assertTrue(e.getMessage().contains("entry at position 0 claims a"), e.getMessage());
        // a stream that claims a huge record but then stalls is never read into memory
        InputStream endless = new InputStream() {
            private int pos;

            @Override
            public int read() {
                return pos < enc.length ? enc[pos++] & 0xff : 0;
            }
        };
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> AttestationLog.read(endless))
                .reason());
    }

    @Test
    void flippingAnyByteNeverEscapesAsAnythingButProtocolException() throws Exception {
        byte[] enc = h1.file.encoded();
        for (int i = 0; i < enc.length; i++) {
            byte[] mutated = enc.clone();
            mutated[i] ^= (byte) 0x80;
            try {
                AttestationLog log = AttestationLog.parse(mutated);
                for (LogEntry e : log.entries()) {
                    try {
                        e.record();
                    } catch (ProtocolException expected) {
                        // fine
                    }
                }
            } catch (ProtocolException expected) {
                // fine
            }
        }
    }

    @Test
    void wrongMagicIsNotALog() {
        var e = assertThrows(ProtocolException.class,
                () -> AttestationLog.read(new ByteArrayInputStream("SMP1/LOX\0\1\0\2h1".getBytes())));
        assertEquals(Reason.MALFORMED, e.reason());
    }
}
