package org.sealift.protocol.seal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.sealift.protocol.seal.Fixtures.KEY;
import static org.sealift.protocol.seal.Fixtures.MIGRATION;
import static org.sealift.protocol.seal.Fixtures.VM;
import static org.sealift.protocol.seal.Fixtures.fill;
import static org.sealift.protocol.seal.Fixtures.page;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.seal.ProtectedPageStore.Outcome;

/**
 * The destination's last line: whatever order dom0 delivered, dropped, replayed or disguised the sealed records in,
 * the store ends with exactly the manifest's versions or refuses to verify.
 */
class ProtectedPageStoreTest {

    private static final Map<Integer, byte[]> KEYS = Map.of(3, fill(32, 3), 4, fill(32, 4));

    private final Sealer sealer = new Sealer(KEY, MIGRATION, VM);
    private final ProtectedPageStore store = new ProtectedPageStore(new Opener(KEY, MIGRATION, VM));

    private static Reason verifyFails(ProtectedPageStore store, Manifest m) {
        return assertThrows(ProtocolException.class, () -> store.verify(m)).reason();
    }

    @Test
    void honestMigrationVerifiesAndReleasesThePlaintext() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        store.accept(sealer.sealPage(3, 100, 2, page(2), 0));
        store.accept(sealer.sealPage(4, 200, 1, page(3), 0));
        store.accept(sealer.sealVcpu(4, 0, 1, fill(64, 9)));
        store.acceptNormal(300, true); // a normal page's zero marker is fine
        store.verify(sealer.buildManifest(KEYS));
        assertTrue(store.isVerified());
        assertArrayEquals(page(2), store.page(100));
        assertArrayEquals(page(3), store.page(200));
        assertArrayEquals(fill(64, 9), store.context(4, 0));
        assertEquals(0, store.replayCount());
    }

    @Test
    void plaintextIsNotReleasedBeforeVerification() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        assertThrows(IllegalStateException.class, () -> store.page(100));
    }

    @Test
    void pageReplayedFromAnEarlierRoundIsDroppedAndCountedAsReplay() throws Exception {
        SealedBlob round1 = sealer.sealPage(3, 100, 1, page(1), 0);
        SealedBlob round2 = sealer.sealPage(3, 100, 2, page(2), 0);
        assertEquals(Outcome.STORED, store.accept(round1));
        assertEquals(Outcome.STORED, store.accept(round2));
        assertEquals(Outcome.STALE_DROPPED, store.accept(round1));
        assertEquals(1, store.replayCount());
        assertTrue(store.firstReplay().contains("pfn 100"), store.firstReplay());
        store.verify(sealer.buildManifest(KEYS));
        assertArrayEquals(page(2), store.page(100), "the replay did not overwrite the newer page");
    }

    @Test
    void latestRoundDroppedAndEarlierRoundDeliveredIsAStaleMismatch() throws Exception {
        SealedBlob round1 = sealer.sealPage(3, 100, 1, page(1), 0);
        sealer.sealPage(3, 100, 2, page(2), 0); // dom0 never delivers it
        store.accept(round1);
        ProtocolException e = assertThrows(ProtocolException.class, () -> store.verify(sealer.buildManifest(KEYS)));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("stale"), e.getMessage());
        assertFalse(store.isVerified());
    }

    @Test
    void droppedPageFailsVerificationAsMissing() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        sealer.sealPage(3, 101, 1, page(2), 0); // dropped
        ProtocolException e = assertThrows(ProtocolException.class, () -> store.verify(sealer.buildManifest(KEYS)));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("missing: pfn 101"), e.getMessage());
    }

    @Test
    void droppedVcpuContextFailsVerificationAsMissing() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        sealer.sealVcpu(3, 0, 1, fill(64, 1)); // dropped
        assertEquals(Reason.MANIFEST_MISMATCH, verifyFails(store, sealer.buildManifest(KEYS)));
    }

    @Test
    void staleVcpuContextFailsVerification() throws Exception {
        store.accept(sealer.sealVcpu(3, 0, 1, fill(64, 1)));
        sealer.sealVcpu(3, 0, 2, fill(64, 2)); // the context at pause time, dropped by dom0
        assertEquals(Reason.MANIFEST_MISMATCH, verifyFails(store, sealer.buildManifest(KEYS)));
    }

    @Test
    void protectedPageSentAsAZeroMarkerAfterItsSealedCopyIsRefused() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        ProtocolException e = assertThrows(ProtocolException.class, () -> store.acceptNormal(100, true));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("zero marker"), e.getMessage());
        assertEquals(Reason.MANIFEST_MISMATCH,
                assertThrows(ProtocolException.class, () -> store.acceptNormal(100, false)).reason());
    }

    @Test
    void protectedPageSentOnlyAsAZeroMarkerFailsVerification() throws Exception {
        sealer.sealPage(3, 100, 1, page(1), 0); // dom0 replaces the SEALED record with a zero marker
        store.acceptNormal(100, true);
        ProtocolException e = assertThrows(ProtocolException.class, () -> store.verify(sealer.buildManifest(KEYS)));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("zero marker"), e.getMessage());
    }

    @Test
    void extraPageNotInTheManifestFailsVerification() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        SealedBlob extra = sealer.sealPage(3, 101, 1, page(2), 0);
        store.accept(extra);
        // a manifest that lists only pfn 100
        Manifest.Builder b = Manifest.builder(MIGRATION, VM);
        b.process(3, fill(32, 3)).page(100, 1, sealer.latestPage(100).tag());
        ProtocolException e = assertThrows(ProtocolException.class, () -> store.verify(b.build()));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("extra: pfn 101"), e.getMessage());
    }

    @Test
    void pageNewerThanTheManifestSaysFailsVerification() throws Exception {
        sealer.sealPage(3, 100, 1, page(1), 0);
        store.accept(sealer.sealPage(3, 100, 2, page(2), 0));
        Manifest.Builder b = Manifest.builder(MIGRATION, VM);
        b.process(3, fill(32, 3)).page(100, 1, fill(16, 0));
        assertEquals(Reason.MANIFEST_MISMATCH, verifyFails(store, b.build()));
    }

    @Test
    void alteredTagInTheManifestFailsVerification() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        store.accept(blob);
        byte[] tag = blob.tag();
        tag[0] ^= 1;
        Manifest.Builder b = Manifest.builder(MIGRATION, VM);
        b.process(3, fill(32, 3)).page(100, 1, tag);
        ProtocolException e = assertThrows(ProtocolException.class, () -> store.verify(b.build()));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("altered"), e.getMessage());
    }

    @Test
    void pageListedUnderAnotherProcessFailsVerification() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        store.accept(blob);
        Manifest.Builder b = Manifest.builder(MIGRATION, VM);
        b.process(4, fill(32, 4)).page(100, 1, blob.tag());
        assertEquals(Reason.MANIFEST_MISMATCH, verifyFails(store, b.build()));
    }

    @Test
    void manifestOfAnotherVmFailsVerification() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        Manifest other = new Sealer(KEY, MIGRATION, Fixtures.OTHER_VM).buildManifest(Map.of());
        assertEquals(Reason.MANIFEST_MISMATCH, verifyFails(store, other));
    }

    @Test
    void tamperedPageIsRefusedOnArrivalAndNotStored() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        SealedBlob bad = Fixtures.edited(blob, b -> b[100] ^= 1);
        assertEquals(Reason.TAMPERED, assertThrows(ProtocolException.class, () -> store.accept(bad)).reason());
        assertEquals(0, store.pageCount());
    }

    @Test
    void resentSameVersionIsAHarmlessDuplicate() throws Exception {
        SealedBlob blob = sealer.sealPage(3, 100, 1, page(1), 0);
        assertEquals(Outcome.STORED, store.accept(blob));
        assertEquals(Outcome.DUPLICATE, store.accept(sealer.sealPage(3, 100, 1, page(1), 0)));
        assertEquals(0, store.replayCount());
    }

    @Test
    void nothingIsAcceptedAfterVerification() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        Manifest m = sealer.buildManifest(KEYS);
        store.verify(m);
        SealedBlob late = new Sealer(KEY, MIGRATION, VM).sealPage(3, 100, 9, page(9), 0);
        assertEquals(Reason.UNEXPECTED_RECORD, assertThrows(ProtocolException.class, () -> store.accept(late))
                .reason());
        assertEquals(Reason.UNEXPECTED_RECORD,
                assertThrows(ProtocolException.class, () -> store.acceptNormal(5, true)).reason());
    }

    @Test
    void destroyOverwritesThePlaintext() throws Exception {
        store.accept(sealer.sealPage(3, 100, 1, page(1), 0));
        store.verify(sealer.buildManifest(KEYS));
        store.destroy();
        assertNull(store.page(100));
        assertEquals(0, store.pageCount());
    }
}
