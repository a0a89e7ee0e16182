package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.TokenKind;
import org.sealift.model.MigrationOutcome;
import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.token.Token;

/**
 * A host dies for good in the middle of the commit: nothing runs on its own, and only an operator's fence (signed
 * with the policy key, bound to the migration, the manifest digest and the lost host's AK, with a policy revoking
 * that AK) lets the surviving complete copy run. Destination lost after RELEASE: the source's copy; source lost
 * after READY: the destination's verified copy, whose manifest digest the operator takes from its READY token.
 * Own cluster: each fence revokes a host, and the next policy admits it again.
 */
class FenceTest extends AttackSuite {

    /** The operator brings the fenced host back into the cluster (the next policy revokes nothing). */
    @AfterEach
    void readmitFencedHost() throws Exception {
        hostsUpAgain();
        cluster.publishPolicy();
    }

    @Test
    void hostCrashOfDestinationAfterReleaseThenFenceRunsTheSourceCopy() throws Exception {
        SimRun m = secure(quietVm());
        AtomicReference<byte[]> lostAk = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("source.release")) {
                lostAk.set(Certificates.fingerprint(Certificates.parse(h2.identity().attestationChain().get(0))));
                cluster.crash("h2"); // RELEASE goes out to a host that is gone
            }
        };
        m.run();
        MigrationId id = m.migrationId;
        assertTrue(m.source.inDoubt(), m.everything().toString());
        assertEquals(DomainState.RELEASED, h1.domainInfo(m.srcDom).state());
        assertThrows(HypervisorException.class, () -> h1.resume(m.srcDom), "no resume without DONE, token or fence");
        assertEquals(0, runningCopies(m.config.name()));

        byte[] digest = Token.decode(h1.exportToken(id, TokenKind.RELEASE)).manifestDigest();
        byte[][] wrong = cluster.fence(id.bytes(), new byte[32], lostAk.get());
        assertThrows(HypervisorException.class, () -> h1.importFence(wrong[0], wrong[1]),
                "a fence for another copy is refused");
        byte[][] fence = cluster.fence(id.bytes(), digest, lostAk.get());
        MigrationDecision d = h1.importFence(fence[0], fence[1]);
        assertEquals(MigrationState.FENCED, d.state());
        h1.resume(m.srcDom);
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        assertArrayEquals(m.digestAtFreeze, h1.protectedMemoryDigest(m.srcDom), "the copy the source sealed");
        cleanup(m);
    }

    @Test
    void hostCrashOfSourceAfterReadyThenFenceRunsTheDestinationCopy() throws Exception {
        SimRun m = secure(quietVm());
        m.engine = LONG_AFTER_READY; // the destination must still hold its copy when the operator acts
        AtomicReference<byte[]> sourceAk = new AtomicReference<>();
        AtomicReference<Exception> readyAtSource = new AtomicReference<>();
        m.dstHook = (call, result) -> {
            if (call.equals("destination.onManifest")) {
                MigrationId id = m.migrationId;
                readyAtSource.set(assertThrows(HypervisorException.class,
                        () -> h1.exportToken(id, TokenKind.READY), "READY is the destination's to sign"));
                sourceAk.set(Certificates.fingerprint(Certificates.parse(h1.identity().attestationChain().get(0))));
                cluster.crash("h1"); // READY is recorded at the destination; the source host is lost for good
                fenceTheDestinationCopy(id, sourceAk.get());
            }
        };
        m.run();
        MigrationId id = m.migrationId;
        String all = m.everything().toString();
        assertNotNull(readyAtSource.get(), all);
        // the destination's engine lost its stream after READY, waited for a decision and found the fence
        assertEquals(MigrationOutcome.COMMITTED, m.destination.summary().outcome(), all);
        assertTrue(m.destination.summary().reason().startsWith("fenced by an operator"), all);
        MigrationDecision d = h2.decisions().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
        assertEquals(MigrationState.FENCED, d.state(), d.toString());
        assertTrue(d.detail().contains("fence"), d.detail());
        // the fence bundle is the record of a fenced migration: the hypervisor signs no COMMITTED record for it
        HypervisorException noRecord = assertThrows(HypervisorException.class,
                () -> h2.signAttestation(id, new byte[0]));
        assertTrue(noRecord.getMessage().contains("fence"), noRecord.getMessage());
        assertEquals(DomainState.RUNNING, h2.domainInfo(m.dstDom).state());
        assertArrayEquals(m.digestAtFreeze, h2.protectedMemoryDigest(m.dstDom), "the copy the source sealed last");
        // the lost source comes back: its copy died with it, nothing of the VM runs there
        h1 = cluster.boot("h1");
        assertEquals(MigrationState.FROZEN, decision(h1, id).state(), "the source never released");
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    /**
     * What an operator does when the source is declared lost after READY: takes the destination's READY token
     * (exported through the SPI, checked against the destination's AK), asks the CA for a fence naming its manifest
     * digest and the source's AK, and imports it at the destination. Wrong fences and the token itself are refused.
     */
    private static void fenceTheDestinationCopy(MigrationId id, byte[] sourceAk) throws Exception {
        Token ready = Token.decode(h2.exportToken(id, TokenKind.READY));
        assertEquals(org.sealift.protocol.token.TokenKind.READY, ready.kind());
        assertTrue(ready.isSignedBy(Certificates.parse(h2.identity().attestationChain().get(0)).getPublicKey()),
                "the READY token is the destination hypervisor's statement");
        MigrationDecision d = decision(h2, id);
        assertEquals(MigrationState.READY, d.state());
        assertEquals(HexFormat.of().formatHex(ready.manifestDigest()), d.manifestDigest().orElseThrow());
        assertEquals(HexFormat.of().formatHex(sourceAk), d.peerAkFingerprint().orElseThrow(),
                "the destination names the source's AK as the one to revoke");
        HypervisorException notImportable = assertThrows(HypervisorException.class,
                () -> h2.importToken(ready.encode()), "READY is exported, never imported");
        assertNotNull(notImportable.getMessage());
        assertThrows(HypervisorException.class, () -> h2.resume(d.domId()), "no resume on READY alone");

        byte[][] otherCopy = cluster.fence(id.bytes(), new byte[32], sourceAk);
        assertThrows(HypervisorException.class, () -> h2.importFence(otherCopy[0], otherCopy[1]),
                "a fence for another copy is refused");
        byte[] ownAk = Certificates.fingerprint(Certificates.parse(h2.identity().attestationChain().get(0)));
        byte[][] wrongHost = cluster.fence(id.bytes(), ready.manifestDigest(), ownAk);
        assertThrows(HypervisorException.class, () -> h2.importFence(wrongHost[0], wrongHost[1]),
                "a fence declaring another host lost is refused");
        byte[][] fence = cluster.fence(id.bytes(), ready.manifestDigest(), sourceAk);
        assertEquals(MigrationState.FENCED, h2.importFence(fence[0], fence[1]).state());
    }
}
