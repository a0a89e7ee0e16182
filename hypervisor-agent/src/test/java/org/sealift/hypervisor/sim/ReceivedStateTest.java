package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.UUID;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.control.Manifest;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.seal.Opener;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.seal.Sealer;

/**
 * The destination's received protected state (docs/protocol.md §7), attacked record by record: it keeps the newest
 * version per page in the incoming domain, drops and counts older ones, refuses what does not authenticate or belongs
 * to another process, and verifies everything against the MANIFEST before anything is final.
 */
class ReceivedStateTest {

    @TempDir
    Path dir;
    final SecureRandom random = new SecureRandom();
    final SecretKey key = new SecretKeySpec(bytes(32), "AES");
    final MigrationId mid = MigrationId.of(bytes(16));
    final UUID vm = UUID.randomUUID();
    final byte[] processKey = bytes(32);
    Domain incoming;
    ReceivedState received;
    Sealer sealer;

    byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    @BeforeEach
    void create() throws Exception {
        DomainConfig c = new DomainConfig("vm", 4, 1, List.of(ProtectedProcessSpec.of("a", 10, 4)),
                WorkloadSpec.idle(0));
        incoming = Domain.create(7, c, dir.resolve("mem"), random, false);
        received = new ReceivedState(incoming, new Opener(key, mid, vm));
        sealer = new Sealer(key, mid, vm);
    }

    @AfterEach
    void destroy() {
        incoming.destroy();
    }

    byte[] page(long marker) {
        return ByteBuffer.allocate(Domain.PAGE).putLong(0, marker).array();
    }

    SealedBlob sealed(long pfn, long version, long marker) throws ProtocolException {
        return sealer.sealPage(1, pfn, version, page(marker), 0);
    }

    /** A MANIFEST as the source would make it: these page sealings and the one context. */
    Manifest buildFrom(SealedBlob[] pages, SealedBlob ctx) {
        var b = Manifest.builder(mid, vm);
        var p = b.process(1, processKey);
        for (SealedBlob s : pages) {
            p.page(s.target(), s.version(), s.tag());
        }
        p.context(0, ctx.version(), ctx.tag());
        return b.build();
    }

    @Test
    void theNewestVersionIsStagedInTheDomainAndOlderOnesAreCountedAsReplays() throws Exception {
        SealedBlob v1 = sealed(11, 1, 0x11);
        SealedBlob v2 = sealed(11, 2, 0x22);
        assertEquals(ReceivedState.Outcome.STORED, received.accept(v1));
        assertEquals(ReceivedState.Outcome.STORED, received.accept(v2));
        assertEquals(ReceivedState.Outcome.DUPLICATE, received.accept(v2));
        assertEquals(ReceivedState.Outcome.STALE_DROPPED, received.accept(v1));
        assertEquals(1, received.replayCount());
        assertTrue(received.firstReplay().contains("after version 2"));
        ProtectedProcess p = incoming.processes.get(0);
        assertEquals(2, p.version(1));
        assertEquals(0x22, p.plainPage(1).getLong(0));
    }

    @Test
    void aChangedRecordOrOneOfAnotherProcessIsRefused() throws Exception {
        byte[] body = sealed(12, 1, 5).body();
        body[100] ^= 1;
        ProtocolException tampered = assertThrows(ProtocolException.class,
                () -> received.accept(SealedBlob.decode(body)));
        assertEquals(Reason.TAMPERED, tampered.reason());
        assertEquals(0, incoming.processes.get(0).version(2), "nothing was staged");

        SealedBlob foreign = sealer.sealPage(9, 13, 1, page(6), 0);
        ProtocolException moved = assertThrows(ProtocolException.class, () -> received.accept(foreign));
        assertEquals(Reason.MANIFEST_MISMATCH, moved.reason());
    }

    @Test
    void verificationPassesOnlyForExactlyTheListedVersionsAndTags() throws Exception {
        // pfn 13 only arrives at an older version: its latest sealing is withheld
        SealedBlob older = sealed(13, 2, 99);
        SealedBlob[] latest = new SealedBlob[4];
        for (int i = 0; i < 4; i++) {
            latest[i] = sealed(10 + i, 3, i);
        }
        for (int i = 0; i < 3; i++) {
            received.accept(latest[i]);
        }
        received.accept(older);
        SealedBlob ctx = sealer.sealVcpu(1, 0, 1, new byte[256]);
        received.accept(ctx);
        ProtocolException stale = assertThrows(ProtocolException.class,
                () -> received.verify(buildFrom(latest, ctx)));
        assertEquals(Reason.MANIFEST_MISMATCH, stale.reason());
        assertTrue(stale.getMessage().contains("stale: pfn 13"), stale.getMessage());
    }

    @Test
    void aMissingOrAlteredPageFailsAndAVerifiedStateTakesNothingMore() throws Exception {
        SealedBlob[] latest = new SealedBlob[4];
        for (int i = 0; i < 4; i++) {
            latest[i] = sealed(10 + i, 1, i);
        }
        for (int i = 0; i < 3; i++) {
            received.accept(latest[i]);
        }
        SealedBlob ctx = sealer.sealVcpu(1, 0, 1, new byte[256]);
        received.accept(ctx);
        ProtocolException missing = assertThrows(ProtocolException.class,
                () -> received.verify(buildFrom(latest, ctx)));
        assertTrue(missing.getMessage().contains("missing: pfn 13"), missing.getMessage());

        received.accept(latest[3]);
        // a manifest naming another tag for pfn 10 (what a swapped or altered record would need)
        SealedBlob[] altered = latest.clone();
        altered[0] = new Sealer(key, mid, vm).sealPage(1, 10, 1, page(1234), 0);
        ProtocolException changed = assertThrows(ProtocolException.class,
                () -> received.verify(buildFrom(altered, ctx)));
        assertTrue(changed.getMessage().contains("altered: pfn 10"), changed.getMessage());

        received.verify(buildFrom(latest, ctx));
        assertArrayEquals(new byte[256], received.context(1, 0));
        assertEquals(3, incoming.processes.get(0).plainPage(3).getLong(0));
        ProtocolException late = assertThrows(ProtocolException.class, () -> received.accept(sealed(10, 2, 7)));
        assertEquals(Reason.UNEXPECTED_RECORD, late.reason());
    }

    /** Every page of the layout at version {@code version}, accepted, and the one context; returns the pages. */
    SealedBlob[] acceptAll(long version) throws Exception {
        SealedBlob[] pages = new SealedBlob[4];
        for (int i = 0; i < 4; i++) {
            pages[i] = sealed(10 + i, version, 100 + i);
            received.accept(pages[i]);
        }
        return pages;
    }

    @Test
    void theExactManifestIsAcceptedInOnePassWithTheDigestAndKeysTheEntryByEntryCheckWouldGive() throws Exception {
        SealedBlob[] pages = acceptAll(4);
        received.accept(new Sealer(key, mid, vm).sealPage(1, 11, 3, page(7), 0)); // an older version, late: no change
        SealedBlob ctx = sealer.sealVcpu(1, 0, 5, new byte[256]);
        received.accept(ctx);
        Manifest m = buildFrom(pages, ctx);
        byte[] plain = m.encode();

        byte[] digest = received.verifyExact(plain);

        assertArrayEquals(m.digest(), digest);
        assertArrayEquals(Manifest.decode(plain).digest(), digest);
        assertArrayEquals(processKey, received.key(plain, 0));
        assertEquals(5, received.contextVersion(0, 0));
        assertArrayEquals(new byte[256], received.context(1, 0));
        ProtocolException late = assertThrows(ProtocolException.class, () -> received.accept(sealed(10, 9, 7)));
        assertEquals(Reason.UNEXPECTED_RECORD, late.reason());
        assertThrows(IllegalStateException.class, () -> received.verifyExact(plain), "verified once only");
    }

    @Test
    void theKeysAreTheSourcesToSendAndNotPartOfTheComparison() throws Exception {
        SealedBlob[] pages = acceptAll(1);
        SealedBlob ctx = sealer.sealVcpu(1, 0, 1, new byte[256]);
        received.accept(ctx);
        byte[] otherKey = bytes(32);
        var b = Manifest.builder(mid, vm);
        var p = b.process(1, otherKey);
        for (SealedBlob s : pages) {
            p.page(s.target(), s.version(), s.tag());
        }
        p.context(0, ctx.version(), ctx.tag());
        byte[] plain = b.build().encode();
        assertArrayEquals(b.build().digest(), received.verifyExact(plain));
        assertArrayEquals(otherKey, received.key(plain, 0));
    }

    /**
     * Whatever differs from what was accepted — a page's tag or version, a page never received, a context outside the
     * layout, the session, the digest trailer, the length — leaves the one-pass check without a result and changes
     * nothing, so the entry-by-entry check runs and names it.
     */
    @Test
    void anyDifferenceFallsBackToTheEntryByEntryCheckWhichNamesIt() throws Exception {
        SealedBlob[] pages = acceptAll(2);
        SealedBlob ctx = sealer.sealVcpu(1, 0, 1, new byte[256]);
        received.accept(ctx);
        Manifest good = buildFrom(pages, ctx);

        SealedBlob[] altered = pages.clone();
        altered[1] = new Sealer(key, mid, vm).sealPage(1, 11, 2, page(4321), 0);
        assertFallsBackAndFails(buildFrom(altered, ctx).encode(), "altered: pfn 11");

        SealedBlob[] newer = pages.clone();
        newer[2] = sealed(12, 3, 1);
        assertFallsBackAndFails(buildFrom(newer, ctx).encode(), "stale: pfn 12");

        SealedBlob[] older = pages.clone();
        older[3] = new Sealer(key, mid, vm).sealPage(1, 13, 1, page(1), 0);
        assertFallsBackAndFails(buildFrom(older, ctx).encode(), "extra: pfn 13");

        byte[] wrongTrailer = good.encode();
        wrongTrailer[wrongTrailer.length - 1] ^= 1;
        assertEquals(null, received.verifyExact(wrongTrailer));
        assertEquals(Reason.MANIFEST_MISMATCH,
                assertThrows(ProtocolException.class, () -> Manifest.decode(wrongTrailer)).reason());

        var otherVm = Manifest.builder(mid, UUID.randomUUID());
        var op = otherVm.process(1, processKey);
        for (SealedBlob s : pages) {
            op.page(s.target(), s.version(), s.tag());
        }
        op.context(0, ctx.version(), ctx.tag());
        assertEquals(null, received.verifyExact(otherVm.build().encode()));

        byte[] longer = java.util.Arrays.copyOf(good.encode(), good.encode().length + 32);
        assertEquals(null, received.verifyExact(longer));

        // nothing was decided by the failed one-pass checks: the exact manifest still passes
        assertArrayEquals(good.digest(), received.verifyExact(good.encode()));
    }

    @Test
    void aPageNeverReceivedCannotPassAsVersionZero() throws Exception {
        // pfn 13 was never sealed (nor received): a plaintext that lists it at version 0 equals this destination's
        // table octet for octet, yet it is no MANIFEST (versions start at 1)
        ManifestTable table = new ManifestTable(mid, vm, incoming.processes);
        for (int i = 0; i < 3; i++) {
            SealedBlob s = sealed(10 + i, 1, i);
            received.accept(s);
            table.page(0, i, s);
        }
        SealedBlob ctx = sealer.sealVcpu(1, 0, 1, new byte[256]);
        received.accept(ctx);
        table.context(0, 0, ctx);
        byte[] plain = table.encode(java.util.Map.of(1, processKey), table.digest());

        assertEquals(null, received.verifyExact(plain), "an entry at version 0 is never exact");
        ProtocolException e = assertThrows(ProtocolException.class, () -> Manifest.decode(plain));
        assertTrue(e.getMessage().contains("version 0"), e.getMessage());
    }

    @Test
    void aContextOutsideTheLayoutIsReportedByTheEntryByEntryCheck() throws Exception {
        SealedBlob[] pages = acceptAll(1);
        SealedBlob ctx = sealer.sealVcpu(1, 0, 1, new byte[256]);
        received.accept(ctx);
        received.accept(sealer.sealVcpu(1, 3, 1, new byte[256])); // this VM has one vCPU
        Manifest m = buildFrom(pages, ctx);
        assertFallsBackAndFails(m.encode(), "extra: vCPU context 3");
    }

    private void assertFallsBackAndFails(byte[] plain, String named) throws Exception {
        assertEquals(null, received.verifyExact(plain), "not exact: " + named);
        ProtocolException e = assertThrows(ProtocolException.class, () -> received.verify(Manifest.decode(plain)));
        assertEquals(Reason.MANIFEST_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }
}
