package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationDecision;
import org.sealift.agent.spi.MigrationId;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.spi.WorkloadSpec;

/**
 * The sealed decision state and its monotonic counter, attacked by dom0 (delete, roll back) around host crashes; and
 * the recovery it allows when nobody tampered with it.
 */
class SealedStateSimTest {

    @TempDir
    Path dir;
    SimTestCluster cluster;
    SimBackend src;

    @BeforeEach
    void start() throws Exception {
        cluster = SimTestCluster.start(dir, false, "s1", "s2");
        src = cluster.host("s1");
    }

    @AfterEach
    void stop() {
        cluster.close();
    }

    Dom0Forwarder toReady() throws Exception {
        int id = src.createDomain(new DomainConfig("app", 16, 1, List.of(ProtectedProcessSpec.of("vault", 512, 64)),
                WorkloadSpec.idle(10).withProtected(16, 200))).domId();
        src.resume(id);
        return new Dom0Forwarder(src, cluster.host("s2"), id).upToReady();
    }

    Path stateFile(String host) {
        return cluster.stateDir(host).resolve("sealed-state.bin");
    }

    static MigrationDecision decision(SimBackend b, MigrationId id) throws HypervisorException {
        return b.decisions().stream().filter(d -> d.id().equals(id)).findFirst().orElseThrow();
    }

    @Test
    void destinationStateRolledBackAcrossACrashIsInDoubtAndNeitherResumesNorAborts() throws Exception {
        Path old = dir.resolve("old-state.bin");
        int id = src.createDomain(new DomainConfig("app", 16, 1, List.of(ProtectedProcessSpec.of("vault", 512, 64)),
                WorkloadSpec.idle(10))).domId();
        src.resume(id);
        src.enableDirtyLogging(id);
        Dom0Forwarder f = new Dom0Forwarder(src, cluster.host("s2"), id).handshake();
        Files.copy(stateFile("s2"), old); // dom0 keeps a copy from before READY
        f.round(false);
        f.stopAndCopy().verify().release();
        MigrationId m = f.source.id();
        cluster.publishPolicy(); // the destination seals its state again (READY itself is flushed lazily)
        cluster.crash("s2");
        Files.copy(old, stateFile("s2"), StandardCopyOption.REPLACE_EXISTING);
        SimBackend dst = cluster.boot("s2");

        MigrationDecision d = decision(dst, m);
        assertTrue(d.inDoubt(), d.toString());
        var abort = assertThrows(HypervisorException.class, () -> dst.exportToken(m, TokenKind.ABORT));
        assertEquals(HypervisorException.Reason.STATE_IN_DOUBT, abort.reason());
        var resume = assertThrows(HypervisorException.class,
                () -> dst.importToken(src.exportToken(m, TokenKind.RELEASE)));
        assertEquals(HypervisorException.Reason.STATE_IN_DOUBT, resume.reason());
        // the source stays released (paused): no copy runs anywhere until a fence decides
        assertEquals(DomainState.RELEASED, src.domainInfo(id).state());
        assertThrows(HypervisorException.class, () -> src.resume(id));
    }

    @Test
    void deletedDestinationStateAfterACrashRefusesUnknownMigrations() throws Exception {
        Dom0Forwarder f = toReady().release();
        MigrationId m = f.source.id();
        cluster.crash("s2");
        Files.delete(stateFile("s2"));
        SimBackend dst = cluster.boot("s2");
        assertTrue(dst.decisions().stream().noneMatch(d -> d.id().equals(m)), "the history is gone");
        var abort = assertThrows(HypervisorException.class, () -> dst.exportToken(m, TokenKind.ABORT));
        assertEquals(HypervisorException.Reason.STATE_IN_DOUBT, abort.reason());
        assertTrue(abort.getMessage().contains("missing"), abort.getMessage());
        var release = assertThrows(HypervisorException.class,
                () -> dst.importToken(src.exportToken(m, TokenKind.RELEASE)));
        assertEquals(HypervisorException.Reason.STATE_IN_DOUBT, release.reason());
    }

    @Test
    void anUntouchedDestinationRecoversItsDecisionAndFreesTheReleasedSource() throws Exception {
        Dom0Forwarder f = toReady().release();
        MigrationId m = f.source.id();
        cluster.crash("s2"); // the destination host dies after READY: its verified copy was RAM
        SimBackend dst = cluster.boot("s2");
        MigrationDecision d = decision(dst, m);
        assertFalse(d.inDoubt(), d.toString());
        // READY is flushed lazily (nothing depends on its durability): either way it never resumed
        assertTrue(d.state() == MigrationState.READY || d.state() == MigrationState.PRECOPY, d.toString());
        // it never resumed, so it may abort; RELEASE now finds no copy to run
        var late = assertThrows(HypervisorException.class,
                () -> dst.importToken(src.exportToken(m, TokenKind.RELEASE)));
        assertTrue(late.getMessage().contains("no longer on host s2"), late.getMessage());
        byte[] abort = dst.exportToken(m, TokenKind.ABORT);
        MigrationDecision back = src.importToken(abort);
        assertEquals(MigrationState.ABORTED_BY_DESTINATION, back.state());
        src.resume(f.srcDom);
        assertEquals(DomainState.RUNNING, src.domainInfo(f.srcDom).state());
    }

    @Test
    void aRestartedSourceReservesItsReleaseForTheWaitingDestination() throws Exception {
        Dom0Forwarder f = toReady().release();
        MigrationId m = f.source.id();
        cluster.crash("s1"); // RELEASE was recorded, but its record never reached the destination
        SimBackend s = cluster.boot("s1");
        assertEquals(MigrationState.RELEASED, decision(s, m).state());
        byte[] release = s.exportToken(m, TokenKind.RELEASE);
        SimBackend dst = cluster.host("s2");
        assertEquals(MigrationState.COMMITTED, dst.importToken(release).state());
        assertEquals(DomainState.RUNNING, dst.domainInfo(f.dstDom()).state());
        assertEquals(MigrationState.COMMITTED, s.importToken(dst.exportToken(m, TokenKind.DONE)).state());
    }

    @Test
    void stateDeletedWhileTheHypervisorRunsIsDetectedAndRewritten() throws Exception {
        Dom0Forwarder f = toReady().release();
        long before = src.sealedStateTamperDetections();
        Files.delete(stateFile("s1"));
        var e = assertThrows(HypervisorException.class, () -> src.resume(f.srcDom));
        assertEquals(HypervisorException.Reason.REFUSED, e.reason());
        assertEquals(before + 1, src.sealedStateTamperDetections());
        assertTrue(Files.exists(stateFile("s1")), "the hypervisor rewrote its state from memory");
        // and a later crash starts from the rewritten, current state
        cluster.crash("s1");
        SimBackend s = cluster.boot("s1");
        MigrationDecision d = decision(s, f.source.id());
        assertFalse(d.inDoubt());
        assertEquals(MigrationState.RELEASED, d.state());
    }

    @Test
    void anOperatorsFenceLetsTheReleasedSourceRunWhenTheDestinationIsLostForGood() throws Exception {
        Dom0Forwarder f = toReady().release();
        MigrationId m = f.source.id();
        byte[] lostAk = org.sealift.protocol.pki.Certificates.fingerprint(org.sealift.protocol.pki.Certificates
                .parse(cluster.host("s2").identity().attestationChain().get(0)));
        cluster.crash("s2"); // and it never comes back
        assertThrows(HypervisorException.class, () -> src.resume(f.srcDom));
        byte[] digest = org.sealift.protocol.token.Token.decode(src.exportToken(m, TokenKind.RELEASE))
                .manifestDigest();
        // what the operator needs for the fence is in the source's recorded decision
        MigrationDecision rec = decision(src, m);
        assertEquals(java.util.HexFormat.of().formatHex(digest), rec.manifestDigest().orElseThrow());
        assertEquals(java.util.HexFormat.of().formatHex(lostAk), rec.peerAkFingerprint().orElseThrow());

        var wrong = cluster.ca.issueFence(m.bytes(), new byte[32], lostAk, cluster.policy);
        var refused = assertThrows(HypervisorException.class,
                () -> src.importFence(wrong.fence().encoded(), wrong.policy().encoded()));
        assertTrue(refused.getMessage().contains("does not cover this copy"), refused.getMessage());
        assertEquals(DomainState.RELEASED, src.domainInfo(f.srcDom).state());

        var fence = cluster.ca.issueFence(m.bytes(), digest, lostAk, cluster.policy);
        MigrationDecision d = src.importFence(fence.fence().encoded(), fence.policy().encoded());
        assertEquals(MigrationState.FENCED, d.state());
        src.resume(f.srcDom);
        assertEquals(DomainState.RUNNING, src.domainInfo(f.srcDom).state());
        assertEquals(fence.policy().unverifiedPolicy().serial(), src.identity().policySerial(),
                "the fence came with the policy that revokes the lost host");
    }

    @Test
    void aDestinationPastItsReadyDeadlineAbortsOnItsOwnAndNeverResumes() throws Exception {
        int id = src.createDomain(new DomainConfig("late", 16, 1, List.of(ProtectedProcessSpec.of("vault", 512, 64)),
                WorkloadSpec.idle(10))).domId();
        src.resume(id);
        src.enableDirtyLogging(id);
        SimBackend dst = cluster.host("s2");
        Dom0Forwarder f = new Dom0Forwarder(src, dst, id).handshake(0); // READY expires at once
        f.round(false);
        f.stopAndCopy().verify().release();
        var e = assertThrows(HypervisorException.class, () -> f.resumeAtDestination());
        assertEquals(HypervisorException.Reason.REFUSED, e.reason());
        assertEquals(DomainState.ZEROIZED, dst.domainInfo(f.dstDom()).state());
        MigrationDecision d = f.destination.decision();
        assertEquals(MigrationState.ABORTED_BY_DESTINATION, d.state());
        assertTrue(d.detail().contains("DEADLINE"), d.detail());
        // its ABORT token hands the released VM back to the source
        src.importToken(dst.exportToken(f.source.id(), TokenKind.ABORT));
        src.resume(id);
        assertEquals(DomainState.RUNNING, src.domainInfo(id).state());
    }
}
