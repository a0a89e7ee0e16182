package org.sealift.protocol.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.sealift.protocol.seal.Fixtures.KEY;
import static org.sealift.protocol.seal.Fixtures.MIGRATION;
import static org.sealift.protocol.seal.Fixtures.VM;
import static org.sealift.protocol.seal.Fixtures.edited;
import static org.sealift.protocol.seal.Fixtures.page;

import java.nio.ByteBuffer;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * dom0 holds every SEALED record between the two hypervisors. Each test changes one thing about a record and checks
 * that the destination's {@link Opener} refuses it as TAMPERED.
 */
class SealedRecordAttackTest {

    private final Sealer sealer = new Sealer(KEY, MIGRATION, VM);
    private final Opener opener = new Opener(KEY, MIGRATION, VM);

    private Reason openFails(SealedBlob blob) {
        return assertThrows(ProtocolException.class, () -> opener.open(blob)).reason();
    }

    @Test
    void dom0ReadingASealedPageSeesNoPlaintext() throws Exception {
        // a page with a long recognisable run: none of it may appear in what the agent carries
        byte[] secret = new byte[4096];
        byte[] marker = "TOP-SECRET-PROCESS-DATA".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i + marker.length <= secret.length; i += marker.length) {
            System.arraycopy(marker, 0, secret, i, marker.length);
        }
        byte[] body = sealer.sealPage(3, 100, 1, secret, 0).body();
        String carried = new String(body, java.nio.charset.StandardCharsets.ISO_8859_1);
        org.junit.jupiter.api.Assertions.assertFalse(carried.contains("SECRET"), "plaintext visible in the record");
        org.junit.jupiter.api.Assertions.assertFalse(carried.contains("TOP-"), "plaintext visible in the record");
    }

    @Test
    void tamperedPageCiphertextIsDetected() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(edited(blob, b -> b[32 + 2000] ^= 0x40)));
    }

    @Test
    void tamperedTagIsDetected() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(edited(blob, b -> b[b.length - 1] ^= 1)));
    }

    @Test
    void swappedPagesFailBecauseThePfnIsBound() throws Exception {
        SealedBlob a = sealer.sealPage(3, 100, 1, page(1), 0);
        SealedBlob b = sealer.sealPage(3, 101, 1, page(2), 0);
        // dom0 swaps the pfn fields so page 100's contents would land at 101 and vice versa
        assertEquals(Reason.TAMPERED, openFails(edited(a, x -> ByteBuffer.wrap(x).putLong(16, 101))));
        assertEquals(Reason.TAMPERED, openFails(edited(b, x -> ByteBuffer.wrap(x).putLong(16, 100))));
    }

    @Test
    void pageMovedToAnotherProcessIsDetected() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(edited(blob, x -> ByteBuffer.wrap(x).putInt(4, 4))));
    }

    @Test
    void pageOfAnotherVmIsRejectedEvenUnderTheSameKey() throws Exception {
        SealedBlob other = new Sealer(KEY, MIGRATION, Fixtures.OTHER_VM).sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(other));
    }

    @Test
    void pageFromAnEarlierMigrationIsRejected() throws Exception {
        // same key on purpose: the migration id in the AAD alone must reject it
        SealedBlob old = new Sealer(KEY, Fixtures.EARLIER_MIGRATION, VM).sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(old));
        // and with that migration's own key, which is what a real earlier session would have used
        SealedBlob oldKey = new Sealer(new SecretKeySpec(Fixtures.fill(32, 0x77), "AES"), Fixtures.EARLIER_MIGRATION,
                VM).sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(oldKey));
    }

    @Test
    void versionRaisedByDom0IsDetected() throws Exception {
        // an old round relabelled as the newest version
        SealedBlob v1 = sealer.sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(edited(v1, x -> ByteBuffer.wrap(x).putLong(24, 7))));
    }

    @Test
    void counterChangedByDom0IsDetected() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        assertEquals(Reason.TAMPERED, openFails(edited(blob, x -> ByteBuffer.wrap(x).putLong(8, 5))));
    }

    @Test
    void tamperedVcpuContextIsDetected() throws Exception {
        SealedBlob ctx = sealer.sealVcpu(3, 0, 1, Fixtures.fill(256, 0x33));
        assertEquals(Reason.TAMPERED, openFails(edited(ctx, x -> x[40] ^= 1)));
    }

    @Test
    void swappedVcpuContextsAreDetected() throws Exception {
        SealedBlob vcpu0 = sealer.sealVcpu(3, 0, 1, Fixtures.fill(256, 0x30));
        SealedBlob vcpu1 = sealer.sealVcpu(3, 1, 1, Fixtures.fill(256, 0x31));
        assertEquals(Reason.TAMPERED, openFails(edited(vcpu0, x -> ByteBuffer.wrap(x).putLong(16, 1))));
        assertEquals(Reason.TAMPERED, openFails(edited(vcpu1, x -> ByteBuffer.wrap(x).putLong(16, 0))));
    }

    @Test
    void vcpuContextOfAnotherProcessIsDetected() throws Exception {
        SealedBlob ctx = sealer.sealVcpu(3, 0, 1, Fixtures.fill(256, 0x30));
        assertEquals(Reason.TAMPERED, openFails(edited(ctx, x -> ByteBuffer.wrap(x).putInt(4, 9))));
    }

    @Test
    void kindChangedFromContextToPageIsDetected() throws Exception {
        // a 4096-octet context relabelled as a page: same length, other nonce prefix and AAD
        SealedBlob ctx = sealer.sealVcpu(3, 0, 1, page(5));
        assertEquals(Reason.TAMPERED, openFails(edited(ctx, x -> x[0] = 1)));
    }

    @Test
    void failedOpenLeavesNoPlaintextInTheCallersBuffer() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        SealedBlob moved = edited(blob, x -> ByteBuffer.wrap(x).putLong(16, 101));
        byte[] out = new byte[4096];
        assertThrows(ProtocolException.class, () -> opener.open(moved, out, 0));
        assertArrayEquals(new byte[4096], out);
    }

    @Test
    void malformedSealedBodiesAreRejectedBeforeOpening() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        byte[] kind = blob.body();
        kind[0] = 3;
        assertEquals(Reason.MALFORMED, assertThrows(ProtocolException.class, () -> SealedBlob.decode(kind)).reason());
        byte[] reserved = blob.body();
        reserved[2] = 1;
        assertEquals(Reason.MALFORMED,
                assertThrows(ProtocolException.class, () -> SealedBlob.decode(reserved)).reason());
        byte[] version = blob.body();
        ByteBuffer.wrap(version).putLong(24, 0);
        assertEquals(Reason.MALFORMED,
                assertThrows(ProtocolException.class, () -> SealedBlob.decode(version)).reason());
        byte[] shortPage = java.util.Arrays.copyOf(blob.body(), 4144 - 8);
        assertEquals(Reason.MALFORMED,
                assertThrows(ProtocolException.class, () -> SealedBlob.decode(shortPage)).reason());
    }
}
