package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.ProtocolMessage;
import org.sealift.agent.spi.SealedBatch;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.TokenKind;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.ProtocolException;

/**
 * Secure migrations between two simulated hosts (real hypervisor processes), driven step by step through the SPI:
 * the commit rules are enforced by the hypervisors whatever dom0 asks, in each state.
 */
class SecureMigrationSimTest {

    @TempDir
    static Path dir;
    static SimTestCluster cluster;
    static SimBackend h1;
    static SimBackend h2;
    static int vmCounter;

    @BeforeAll
    static void start() throws Exception {
        cluster = SimTestCluster.start(dir, true, "h1", "h2");
        h1 = cluster.host("h1");
        h2 = cluster.host("h2");
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    /** A 16 MiB VM with a protected process "vault" (2 MiB) that keeps writing, and a busy guest kernel. */
    static DomainConfig vm() {
        return new DomainConfig("db-" + (++vmCounter), 16, 2, List.of(ProtectedProcessSpec.of("vault", 1024, 512)),
                WorkloadSpec.idle(50).withNormal(1, 2000).withProtected(64, 500).withSecretMarker(7));
    }

    static int running(DomainConfig c) throws HypervisorException {
        int id = h1.createDomain(c).domId();
        h1.resume(id);
        return id;
    }

    @Test
    void committedMigrationMovesProtectedMemoryBitForBit() throws Exception {
        DomainConfig c = vm();
        int src = running(c);
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).upToReady();
        // the destination installed exactly what the source sealed last (the source is frozen since MANIFEST)
        assertArrayEquals(h1.protectedMemoryDigest(src), h2.protectedMemoryDigest(f.dstDom()));
        f.release().resumeAtDestination();
        assertEquals(DomainState.RUNNING, h2.domainInfo(f.dstDom()).state());
        assertEquals(DomainState.MIGRATED_AWAY, h1.domainInfo(src).state());
        assertEquals(MigrationState.COMMITTED, f.source.decision().state());
        assertEquals(MigrationState.COMMITTED, f.destination.decision().state());
        var e = assertThrows(HypervisorException.class, () -> h1.resume(src));
        assertEquals(HypervisorException.Reason.REFUSED, e.reason());
        h1.destroyDomain(src);
        h2.destroyDomain(f.dstDom());
    }

    @Test
    void destinationRefusesToResumeBeforeRelease() throws Exception {
        int src = running(vm());
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).upToReady();
        var e = assertThrows(HypervisorException.class, () -> h2.resume(f.dstDom()));
        assertEquals(HypervisorException.Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("runs only after a valid RELEASE"), e.getMessage());
        assertEquals(DomainState.INCOMING, h2.domainInfo(f.dstDom()).state());
        f.destination.abort(ProtocolException.Reason.DEADLINE, "test cleanup");
        // READY never reached the source, so its in-session ABORT is out of sequence; the signed token is not
        var gap = assertThrows(HypervisorException.class,
                () -> f.source.acceptAbort(f.destination.abort(ProtocolException.Reason.DEADLINE, "again").bytes()));
        assertEquals(ProtocolException.Reason.REORDERED, gap.protocolReason().orElseThrow());
        f.source.acceptAbort(h2.exportToken(f.destination.id(), TokenKind.ABORT));
        h1.resume(src);
        h1.destroyDomain(src);
        h2.destroyDomain(f.dstDom());
    }

    @Test
    void sourceRefusesResumeAndCancelAfterRelease() throws Exception {
        int src = running(vm());
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).upToReady().release();
        var resume = assertThrows(HypervisorException.class, () -> h1.resume(src));
        assertEquals(HypervisorException.Reason.REFUSED, resume.reason());
        assertTrue(resume.getMessage().contains("released to h2"), resume.getMessage());
        var cancel = assertThrows(HypervisorException.class,
                () -> f.source.abort(ProtocolException.Reason.DEADLINE, "operator cancel"));
        assertTrue(cancel.getMessage().contains("a cancel after RELEASE is refused"), cancel.getMessage());
        assertEquals(DomainState.RELEASED, h1.domainInfo(src).state());
        // the destination can no longer abort either once it resumed
        f.resumeAtDestination();
        var late = assertThrows(HypervisorException.class,
                () -> f.destination.abort(ProtocolException.Reason.DEADLINE, "too late"));
        assertEquals(HypervisorException.Reason.REFUSED, late.reason());
        h1.destroyDomain(src);
        h2.destroyDomain(f.dstDom());
    }

    /**
     * The engine asks for the MANIFEST when it pauses the VM and fetches the last protected pages' sealings after it:
     * the hypervisor then re-sends exactly the sealings the MANIFEST names (same bytes), seals nothing new, and once a
     * resume has ended the migration it refuses them too.
     */
    @Test
    void afterTheManifestDom0GetsOnlyReSendsOfWhatItNames() throws Exception {
        int src = running(vm());
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).handshake();
        f.round(false);
        h1.pause(src);
        long[] pfns = h1.protectedPages(src).toPfns();
        ProtocolMessage manifest = f.source.manifest(); // seals the pages written since round 0
        assertEquals(MigrationState.FROZEN, f.source.decision().state());
        SealedBatch again = f.source.sealPages(pfns, 0, pfns.length);
        SealedBatch vcpus = f.source.sealVcpus();
        assertEquals(pfns.length, again.count());
        // what the MANIFEST names is what dom0 gets: the destination verifies it and turns READY
        f.destination.acceptSealed(again.records());
        f.destination.acceptSealed(vcpus.records());
        for (int v = 0; v < f.config.vcpus(); v++) {
            h2.setVcpuContext(f.dstDom(), v, h1.vcpuContext(src, v));
        }
        assertEquals(ProtocolMessage.Kind.READY, f.destination.onManifest(manifest.bytes()).kind());
        // a second fetch gives the same bytes: re-sends, not new sealings
        SealedBatch third = f.source.sealPages(pfns, 0, pfns.length);
        assertEquals(again.records(), third.records());

        h1.resume(src); // dom0 runs the frozen processes again: the migration is over, re-sends too
        var e = assertThrows(HypervisorException.class, () -> f.source.sealPages(pfns, 0, 1));
        assertEquals(HypervisorException.Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("resumed at the source after its MANIFEST"), e.getMessage());
        assertThrows(HypervisorException.class, () -> f.source.sealVcpus());
        f.destination.acceptAbort(h1.exportToken(f.source.id(), TokenKind.ABORT));
        h1.destroyDomain(src);
        h2.destroyDomain(f.dstDom());
    }

    @Test
    void resumeAtSourceAfterManifestRecordsAbortAndForbidsRelease() throws Exception {
        int src = running(vm());
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).upToReady();
        h1.resume(src); // dom0 runs the frozen processes again
        assertEquals(MigrationState.ABORTED_BY_SOURCE, f.source.decision().state());
        var e = assertThrows(HypervisorException.class, () -> f.release());
        assertEquals(HypervisorException.Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("only from the manifest-sealed state"), e.getMessage());
        // the destination learns it from the source's ABORT and zeroizes its verified copy
        f.destination.acceptAbort(h1.exportToken(f.source.id(), TokenKind.ABORT));
        assertEquals(DomainState.ZEROIZED, h2.domainInfo(f.dstDom()).state());
        assertThrows(HypervisorException.class, () -> h2.resume(f.dstDom()));
        h1.destroyDomain(src);
        h2.destroyDomain(f.dstDom());
    }

    @Test
    void destinationNeverResumesAfterItAborted() throws Exception {
        int src = running(vm());
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).upToReady().release();
        // dom0 at the destination aborts before forwarding RELEASE: the copy is zeroized for good
        var abort = f.destination.abort(ProtocolException.Reason.DEADLINE, "dom0 says stop");
        assertFalse(abort.length() == 0);
        var e = assertThrows(HypervisorException.class, () -> f.resumeAtDestination());
        assertEquals(HypervisorException.Reason.REFUSED, e.reason());
        assertEquals(DomainState.ZEROIZED, h2.domainInfo(f.dstDom()).state());
        // with the destination's ABORT the released source may run again
        f.source.acceptAbort(abort.bytes());
        h1.resume(src);
        assertEquals(DomainState.RUNNING, h1.domainInfo(src).state());
        h1.destroyDomain(src);
        h2.destroyDomain(f.dstDom());
    }

    @Test
    void secondMigrationOfTheSameVmIsRefusedByTheLock() throws Exception {
        int src = running(vm());
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).handshake();
        // a second agent (its own connections) tries to move the same VM again
        try (SimBackend other = SimBackend.attach(cluster.config("h1").socket())) {
            var e = assertThrows(HypervisorException.class,
                    () -> other.beginSecureSource(org.sealift.agent.spi.SourceRequest.to(src, "h2")));
            assertEquals(HypervisorException.Reason.LOCKED, e.reason());
            assertTrue(e.getMessage().contains("already in migration " + f.source.id()), e.getMessage());
        }
        f.source.abort(ProtocolException.Reason.DEADLINE, "test cleanup");
        h1.destroyDomain(src);
        h2.destroyDomain(f.dstDom());
    }

    @Test
    void aRestartedAgentFindsBothSessionsByMigrationIdAndFinishesTheMigration() throws Exception {
        int src = running(vm());
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, src).upToReady();
        var id = f.source.id();
        // the agents that started the migration are gone; new ones attach and look the sessions up
        try (SimBackend a1 = SimBackend.attach(cluster.config("h1").socket());
                SimBackend a2 = SimBackend.attach(cluster.config("h2").socket())) {
            var s = a1.sourceSession(id);
            var d = a2.destinationSession(id);
            assertEquals(src, s.domId());
            assertEquals(f.dstDom(), d.domId());
            assertEquals(MigrationState.FROZEN, s.decision().state());
            assertEquals(MigrationState.READY, d.decision().state());
            var done = d.onRelease(s.release(f.ready.bytes()).bytes());
            s.onDone(done.bytes());
            assertEquals(MigrationState.COMMITTED, s.decision().state());
            assertEquals(DomainState.RUNNING, a2.domainInfo(f.dstDom()).state());
            var wrongRole = assertThrows(HypervisorException.class, () -> a1.destinationSession(id));
            assertEquals(HypervisorException.Reason.NOT_FOUND, wrongRole.reason());
        }
        h2.pause(f.dstDom());
        h2.destroyDomain(f.dstDom());
        h1.destroyDomain(src);
    }
}
