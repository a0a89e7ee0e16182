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
}
