package org.sealift.agent.engine.attack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.sealift.agent.engine.ChannelTransport;
import org.sealift.agent.engine.MigrationResult;
import org.sealift.agent.engine.SimRun;
import org.sealift.agent.engine.SourceMigration;
import org.sealift.agent.engine.Transport;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.DomainState;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.MigrationState;
import org.sealift.agent.spi.PageBitmap;
import org.sealift.agent.spi.SecretMarker;
import org.sealift.model.MigrationMode;
import org.sealift.model.MigrationOptions;
import org.sealift.model.MigrationOutcome;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.attest.Outcome;

/**
 * Threat → test matrix, the rows a malicious dom0 plays on the HypervisorBackend interface while the real engine
 * migrates: every request that could fork the VM or leak protected state is refused by the hypervisor.
 */
class BackendAttackTest extends AttackSuite {

    @Test
    void earlyResumeAtDestination() throws Exception {
        SimRun m = secure(quietVm());
        AtomicReference<HypervisorException> refused = new AtomicReference<>();
        m.dstHook = (call, result) -> {
            if (call.equals("destination.onManifest")) {
                // READY is issued, RELEASE not yet: dom0 starts the verified copy on its own
                refused.set(assertThrows(HypervisorException.class, () -> h2.resume(m.dstDom)));
            }
        };
        m.run();
        assertNotNull(refused.get(), m.everything().toString());
        assertEquals(HypervisorException.Reason.REFUSED, refused.get().reason());
        assertCommittedIntact(m);
        cleanup(m);
    }

    @Test
    void resumeAtSourceAfterReleaseFork() throws Exception {
        SimRun m = secure(quietVm());
        AtomicReference<HypervisorException> refused = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("source.release")) {
                refused.set(assertThrows(HypervisorException.class, () -> h1.resume(m.srcDom)));
            }
        };
        m.run();
        assertEquals(HypervisorException.Reason.REFUSED, refused.get().reason());
        assertCommittedIntact(m);
        cleanup(m);
    }

    @Test
    void resumeAtSourceAfterManifestThenRelease() throws Exception {
        SimRun m = secure(quietVm());
        m.srcHook = (call, result) -> {
            if (call.equals("source.manifest")) {
                h1.resume(m.srcDom); // allowed, but the hypervisor records ABORT first
            }
        };
        m.run();
        assertEquals(Outcome.ABORTED_BY_SOURCE, record(m.source).outcome(), m.everything().toString());
        assertEquals(MigrationState.ABORTED_BY_SOURCE, m.source.decision().orElseThrow().state());
        // the MANIFEST is sealed while the last pages stream, so the resume is caught before RELEASE is even asked
        // for: the next request to the source hypervisor is refused, naming the resume
        assertTrue(m.source.summary().reason().contains("resumed at the source after its MANIFEST"),
                "refused after the resume: " + m.source.summary().reason());
        assertFalse(m.destination.summary().outcome() == MigrationOutcome.COMMITTED, m.everything().toString());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()), "never two running copies");
        cleanup(m);
    }

    @Test
    void twoConcurrentMigrationsOfOneVm() throws Exception {
        SimRun m = secure(quietVm());
        AtomicReference<MigrationResult> second = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("source.onHelloReply")) {
                Transport[] pair = ChannelTransport.pipePair();
                second.set(new SourceMigration(h1, m.srcDom, Optional.empty(), pair[0], m.options, SHORT,
                        List.of()).run());
                pair[1].close();
            }
        };
        m.run();
        MigrationResult r = second.get();
        assertEquals(MigrationOutcome.REJECTED, r.summary().outcome());
        assertTrue(r.summary().reason().contains("already in migration"), r.summary().reason());
        assertCommittedIntact(m);
        cleanup(m);
    }

    @Test
    void plainModeOrMetadataExportForAProtectedVm() throws Exception {
        DomainConfig c = quietVm();
        int src = running(h1, c);
        HypervisorException export = assertThrows(HypervisorException.class, () -> h1.exportProtectionMetadata(src));
        assertEquals(HypervisorException.Reason.PROTECTED_VM, export.reason());
        SimRun m = new SimRun(h1, h2, c, src, MigrationOptions.defaults(MigrationMode.PLAIN));
        m.engine = SHORT;
        m.run();
        assertEquals(MigrationOutcome.REJECTED, m.source.summary().outcome(), m.everything().toString());
        assertTrue(m.source.summary().reason().toLowerCase().contains("protected"), m.source.summary().reason());
        assertEquals(DomainState.RUNNING, h1.domainInfo(src).state());
        assertEquals(1, runningCopies(c.name()));
        cleanup(m);
    }

    @Test
    void cancelAfterRelease() throws Exception {
        SimRun m = secure(quietVm());
        AtomicReference<Boolean> cancelled = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("source.release")) {
                cancelled.set(m.sourceMigration.cancel());
            }
        };
        m.run();
        assertEquals(Boolean.FALSE, cancelled.get(), "a cancel after RELEASE is refused");
        assertCommittedIntact(m);
        cleanup(m);
    }

    @Test
    void cancelBeforeReleaseAbortsAndResumesAtTheSource() throws Exception {
        SimRun m = secure(quietVm());
        m.srcHook = (call, result) -> {
            if (call.equals("source.manifest")) {
                assertTrue(m.sourceMigration.cancel());
            }
        };
        m.run();
        assertEquals(Outcome.ABORTED_BY_SOURCE, record(m.source).outcome(), m.everything().toString());
        assertTrue(m.source.summary().reason().startsWith("CANCELLED: cancelled by the operator"),
                m.source.summary().reason());
        // the signed record says what happened: the operator's cancel, not a deadline
        assertEquals(Reason.CANCELLED.name(), record(m.source).reasonName(), record(m.source).toString());
        assertTrue(record(m.source).detail().contains("cancelled by the operator before RELEASE"),
                record(m.source).detail());
        assertEquals(DomainState.RUNNING, h1.domainInfo(m.srcDom).state());
        assertEquals(1, runningCopies(m.config.name()));
        cleanup(m);
    }

    @Test
    void dom0ReadsAProtectedPageDuringMigration() throws Exception {
        SimRun m = secure(busyVm());
        // scanning the whole agent process inside the MANIFEST step takes seconds: keep the deadlines out of it
        m.engine = SHORT.withDeadlines(org.sealift.agent.engine.Deadlines.all(java.time.Duration.ofSeconds(60)));
        SecretMarker marker = SecretMarker.forSeed(0x5ea1L);
        AtomicReference<String> seen = new AtomicReference<>("not checked");
        AtomicReference<MemoryScanner.Result> scan = new AtomicReference<>();
        m.srcHook = (call, result) -> {
            if (call.equals("source.manifest")) {
                // every protected page has been sealed and has passed through this agent by now
                PageBitmap prot = h1.protectedPages(m.srcDom);
                try (GuestMemory mem = h1.mapGuestMemory(m.srcDom, false)) {
                    ByteBuffer all = mem.slice(0, (int) mem.pageCount());
                    long nonZero = 0;
                    for (long p = prot.nextSet(0); p >= 0; p = prot.nextSet(p + 1)) {
                        if (!mem.isZero(p)) {
                            nonZero++;
                        }
                    }
                    seen.set(marker.occursIn(all) ? "marker visible in dom0's mapping"
                            : "ciphertext only, " + nonZero + " non-zero protected pages");
                }
                scan.set(MemoryScanner.scanSelf(marker));
            }
        };
        m.run();
        assertTrue(seen.get().startsWith("ciphertext only"), seen.get());
        assertFalse(seen.get().endsWith(" 0 non-zero protected pages"), "dom0 sees the protected pages (encrypted)");
        MemoryScanner.Result during = scan.get();
        assertTrue(during.foundIn().isEmpty(), "secret marker in the agent's memory: " + during.foundIn());
        assertTrue(during.bytesScanned() > 10L << 20, during.toString());
        MemoryScanner.Result after = MemoryScanner.scanSelf(marker);
        assertTrue(after.foundIn().isEmpty(), "secret marker in the agent's memory after: " + after.foundIn());
        assertCommittedIntact(m);
        cleanup(m);
    }
}
