package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.GuestMemory;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.SealedBatch;
import org.sealift.agent.spi.SecretMarker;
import org.sealift.agent.spi.WorkloadSpec;
import org.sealift.protocol.ProtocolException;

/**
 * G1 in the simulated host: dom0 sees protected pages only as ciphertext, page versions come from the hypervisor's
 * own write tracking, and the agent's memory never holds a protected process's secret.
 */
class ProtectedMemoryTest {

    private static final long MARKER = 0x5eca1f7L;

    @TempDir
    static Path dir;
    static SimTestCluster cluster;
    static SimBackend h1;
    static SimBackend h2;

    @BeforeAll
    static void start() throws Exception {
        cluster = SimTestCluster.start(dir, true, "m1", "m2");
        h1 = cluster.host("m1");
        h2 = cluster.host("m2");
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    static DomainConfig vm(String name) {
        return new DomainConfig(name, 16, 2, List.of(ProtectedProcessSpec.of("vault", 2048, 512)),
                WorkloadSpec.idle(30).withNormal(1, 1000).withProtected(64, 800).withSecretMarker(MARKER));
    }

    @Test
    void theNormalMapShowsProtectedPagesOnlyAsCiphertext() throws Exception {
        int id = h1.createDomain(vm("cipher-vm")).domId();
        h1.resume(id);
        h1.enableDirtyLogging(id);
        SecretMarker marker = SecretMarker.forSeed(MARKER);
        long first = 2048;
        byte[] before = new byte[GuestMemory.PAGE_SIZE];
        try (GuestMemory mem = h1.mapGuestMemory(id, false)) {
            // every page dom0 can map, protected ones included: the marker the process wrote is in none of them
            assertFalse(marker.occursIn(mem.slice(0, (int) mem.pageCount())));
            assertFalse(mem.isZero(first), "the protected page reads as (non-zero) ciphertext");
            mem.slice(first, 1).get(before);
            // the process writes: the hypervisor re-encrypts, the OS view changes, still without the marker
            h1.readDirtyLog(id, true);
            for (int i = 0; i < 600 && !h1.readDirtyLog(id, false).get(first); i++) {
                Thread.sleep(50);
            }
            byte[] after = new byte[GuestMemory.PAGE_SIZE];
            mem.slice(first, 1).get(after);
            assertFalse(java.util.Arrays.equals(before, after), "the OS view follows the process's writes");
            assertFalse(marker.occursIn(ByteBuffer.wrap(after)));
        }
        // positive control: the marker is real and the scanner finds it where the plaintext lives, in the hypervisor
        long[] scanned = {0};
        assertTrue(MemoryScan.find(h1.hypervisorPid(), marker, scanned) >= 0,
                "the plaintext (with marker) lives inside the hypervisor process");
        h1.pause(id);
        h1.destroyDomain(id);
    }

    @Test
    void versionsFollowTheHypervisorsWriteTrackingWhateverDom0DoesToTheDirtyLog() throws Exception {
        int id = h1.createDomain(vm("version-vm")).domId();
        h1.resume(id);
        h1.enableDirtyLogging(id);
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, id).handshake();
        long[] pfn = {2048};
        SealedBatch first = f.source.sealPages(pfn, 0, 1);
        long v1 = first.version(0);
        h1.readDirtyLog(id, true); // forget writes from before the sealing
        // dom0 clears the dirty log over and over; it sees the page written once and clears that too
        boolean seen = false;
        for (int i = 0; i < 600 && !seen; i++) {
            seen = h1.readDirtyLog(id, true).get(2048);
            if (!seen) {
                Thread.sleep(50);
            }
        }
        assertTrue(seen, "the protected process wrote its page");
        SealedBatch second = f.source.sealPages(pfn, 0, 1);
        assertTrue(Long.compareUnsigned(second.version(0), v1) > 0,
                "a page written since its sealing gets a higher version (" + v1 + " -> " + second.version(0) + ")");
        assertFalse(second.record(0).equals(first.record(0)));
        // paused, the page does not change: asking again returns the very same sealing
        h1.pause(id);
        SealedBatch a = f.source.sealPages(pfn, 0, 1);
        SealedBatch b = f.source.sealPages(pfn, 0, 1);
        assertEquals(a.version(0), b.version(0));
        byte[] ra = new byte[a.record(0).remaining()];
        byte[] rb = new byte[b.record(0).remaining()];
        a.record(0).get(ra);
        b.record(0).get(rb);
        assertArrayEquals(ra, rb, "one sealing per version");
        f.source.abort(ProtocolException.Reason.DEADLINE, "test done");
        h1.destroyDomain(id);
        h2.destroyDomain(f.dstDom());
    }

    @Test
    void theAgentsMemoryNeverHoldsTheMarkerAfterASecureMigration() throws Exception {
        int id = h1.createDomain(vm("scan-vm")).domId();
        h1.resume(id);
        Dom0Forwarder f = new Dom0Forwarder(h1, h2, id).upToReady().release().resumeAtDestination();
        SecretMarker marker = SecretMarker.forSeed(MARKER);
        long[] scanned = {0};
        long self = MemoryScan.find(ProcessHandle.current().pid(), marker, scanned);
        assertEquals(-1, self, "the agent (this JVM, which forwarded every page) holds the protected secret at 0x"
                + Long.toHexString(self));
        assertTrue(scanned[0] > 16 << 20, "the scan covered the agent's memory (" + scanned[0] + " bytes)");
        long[] scannedDst = {0};
        assertTrue(MemoryScan.find(h2.hypervisorPid(), marker, scannedDst) >= 0,
                "the destination hypervisor holds the migrated plaintext");
        h2.pause(f.dstDom());
        h2.destroyDomain(f.dstDom());
        h1.destroyDomain(id);
    }
}
