package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.seal.Sealer;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.WireRecord;

/**
 * The destination hypervisor reads dom0's hand-over of SEALED records from its own copy: every record comes out as it
 * went in (heap or direct buffer, at any offset), and framing that dom0 got wrong or forged is refused with its reason.
 */
class SealedRecordsTest {

    final SecureRandom random = new SecureRandom();
    final SecretKey key = new SecretKeySpec(bytes(32), "AES");
    final MigrationId mid = MigrationId.of(bytes(16));
    final UUID vm = UUID.randomUUID();
    final Sealer sealer = new Sealer(key, mid, vm);
    final Opener opener = new Opener(key, mid, vm);

    /** Each call seals new versions: the sealer hands back its earlier sealing for a version it sealed before. */
    long version;

    byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** Three sealed pages and a vCPU context, framed back to back after {@code lead} octets of something else. */
    ByteBuffer framed(int lead, boolean direct, List<byte[]> plaintexts) throws Exception {
        List<WireRecord> recs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            byte[] page = bytes(4096);
            plaintexts.add(page);
            recs.add(sealer.sealPage(9, 100 + i, ++version, page, 0).toRecord(i));
        }
        byte[] ctx = bytes(512);
        plaintexts.add(ctx);
        recs.add(sealer.sealVcpu(9, 0, ++version, ctx).toRecord(3));
        int n = lead;
        for (WireRecord r : recs) {
            n += r.encodedLength();
        }
        ByteBuffer b = direct ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
        b.put(new byte[lead]);
        for (WireRecord r : recs) {
            RecordEncoder.encode(r, b);
        }
        b.flip().position(lead);
        return direct ? b : b.slice(); // a heap slice has a non-zero array offset
    }

    List<SealedBlob> read(ByteBuffer records, List<byte[]> opened) throws ProtocolException {
        List<SealedBlob> seen = new ArrayList<>();
        SealedRecords.forEach(records, blob -> {
            seen.add(blob);
            opened.add(opener.open(blob));
        });
        return seen;
    }

    @Test
    void everyRecordComesOutAsItWentInFromHeapAndDirectBuffers() throws Exception {
        for (boolean direct : new boolean[] {false, true}) {
            List<byte[]> plain = new ArrayList<>();
            ByteBuffer records = framed(24, direct, plain);
            int position = records.position();
            List<byte[]> opened = new ArrayList<>();
            List<SealedBlob> seen = read(records, opened);
            assertEquals(4, seen.size());
            assertEquals(position, records.position(), "the walk does not move the buffer");
            for (int i = 0; i < 4; i++) {
                assertArrayEquals(plain.get(i), opened.get(i), "record " + i + (direct ? " (direct)" : " (heap)"));
            }
            assertEquals(101, seen.get(1).target());
            assertEquals(version - 2, seen.get(1).version());
        }
    }

    /** dom0 writing into the buffer it handed over, while the records are read, changes nothing that is opened. */
    @Test
    void recordsAreReadFromTheHypervisorsOwnCopy() throws Exception {
        List<byte[]> plain = new ArrayList<>();
        ByteBuffer records = framed(0, true, plain);
        List<byte[]> opened = new ArrayList<>();
        SealedRecords.forEach(records, blob -> {
            if (opened.isEmpty()) {
                for (int i = records.position(); i < records.limit(); i++) {
                    records.put(i, (byte) 0x5a);
                }
            }
            opened.add(opener.open(blob));
        });
        assertEquals(4, opened.size());
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(plain.get(i), opened.get(i), "record " + i);
        }
    }

    @Test
    void forgedFramingIsRefusedWithItsReason() throws Exception {
        List<byte[]> plain = new ArrayList<>();
        ByteBuffer good = framed(0, false, plain);
        int first = good.remaining();

        ByteBuffer cut = good.duplicate().limit(good.limit() - 8);
        assertEquals(Reason.TRUNCATED, refused(cut).reason());
        ByteBuffer headerOnly = good.duplicate().limit(good.position() + 10);
        assertEquals(Reason.TRUNCATED, refused(headerOnly).reason());

        ByteBuffer wrongType = copy(good);
        wrongType.putInt(0, RecordType.PAGE_BATCH.code());
        ProtocolException e = refused(wrongType);
        assertEquals(Reason.UNEXPECTED_RECORD, e.reason());
        assertTrue(e.getMessage().contains("PAGE_BATCH"), e.getMessage());

        ByteBuffer tooLong = copy(good);
        tooLong.putInt(4, 70_000);
        assertEquals(Reason.MALFORMED, refused(tooLong).reason());
        ByteBuffer misaligned = copy(good);
        misaligned.putInt(4, SealedBlob.PAGE_BODY_LENGTH - 4);
        assertEquals(Reason.MALFORMED, refused(misaligned).reason());

        // a body octet changed in place: the view carries it to the opener, which refuses it
        ByteBuffer flipped = copy(good);
        flipped.put(RecordEncoder.HEADER_LENGTH + 100, (byte) (flipped.get(RecordEncoder.HEADER_LENGTH + 100) ^ 1));
        assertEquals(Reason.TAMPERED, refused(flipped).reason());
        assertTrue(first > 0);
    }

    private static ByteBuffer copy(ByteBuffer b) {
        ByteBuffer c = ByteBuffer.allocate(b.remaining());
        c.put(b.duplicate()).flip();
        return c;
    }

    private ProtocolException refused(ByteBuffer records) {
        return assertThrows(ProtocolException.class, () -> read(records, new ArrayList<>()));
    }
}
