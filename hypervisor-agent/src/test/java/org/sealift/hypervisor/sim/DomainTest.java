package org.sealift.hypervisor.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.WorkloadSpec;

/** The guest model inside the hypervisor, in process: workload threads, write tracking, measurement. */
class DomainTest {

    @TempDir
    Path dir;
    SimHypervisor hv;

    @BeforeEach
    void boot() throws Exception {
        hv = SimHypervisor.boot("d1", dir.resolve("state"), dir.resolve("hw"), dir.resolve("mem"),
                Optional.of(dir.resolve("vendor")), false);
    }

    @AfterEach
    void shutdown() {
        hv.close();
    }

    static boolean guestThreadAlive(String vm) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().endsWith("-" + vm + "-guest"));
    }

    @Test
    void anIdleGuestHasNoThreadAndWritesNothing() throws Exception {
        int id = hv.createDomain(new DomainConfig("idle-vm", 64, 2, List.of(ProtectedProcessSpec.of("p", 0, 256)),
                WorkloadSpec.idle(100))).domId();
        hv.enableDirtyLogging(id);
        hv.resume(id);
        assertTrue(!guestThreadAlive("idle-vm"), "an idle guest costs no thread");
        hv.pause(id);
        assertEquals(0, hv.readDirtyLog(id, false).cardinality());
    }

    @Test
    void aPausedGuestStopsWritingBeforePauseReturns() throws Exception {
        int id = hv.createDomain(new DomainConfig("busy-vm", 16, 1, List.of(ProtectedProcessSpec.of("p", 100, 32)),
                WorkloadSpec.idle(0).withNormal(1, 5000).withProtected(32, 5000))).domId();
        hv.enableDirtyLogging(id);
        hv.resume(id);
        while (hv.readDirtyLog(id, false).cardinality() == 0) {
            Thread.sleep(20);
        }
        hv.pause(id);
        hv.readDirtyLog(id, true);
        Domain d = hv.domain(id);
        ProtectedProcess p = d.ownerOf(100);
        long[] versions = new long[32];
        for (int i = 0; i < 32; i++) {
            versions[i] = p.version(i);
        }
        byte[] ram = new byte[16 << 20];
        d.ram.slice(0, 4096).get(ram);
        // nothing changes after pause() returned: the dirty log stays empty, versions and memory stay put
        Thread.sleep(100);
        assertEquals(0, hv.readDirtyLog(id, false).cardinality());
        for (int i = 0; i < 32; i++) {
            assertEquals(versions[i], p.version(i));
        }
        byte[] again = new byte[16 << 20];
        d.ram.slice(0, 4096).get(again);
        assertTrue(java.util.Arrays.equals(ram, again));
    }

    @Test
    void theMeasurementCoversTheSecurityConfiguration() throws Exception {
        assertNotEquals(java.util.HexFormat.of().formatHex(Measurement.compute(false)),
                java.util.HexFormat.of().formatHex(Measurement.compute(true)));
        assertEquals(java.util.HexFormat.of().formatHex(Measurement.compute(false)),
                java.util.HexFormat.of().formatHex(hv.measurement));
    }

    /**
     * Destroying a domain frees its memory file in the background; a host that shuts down still leaves no guest
     * memory and no spare sealed-page slot file behind in its memory directory (tmpfs in production).
     */
    @Test
    void aShutDownHostLeavesNoMemoryFilesBehind() throws Exception {
        Path memory = hv.memoryDir;
        int kept = hv.createDomain(new DomainConfig("kept-vm", 16, 1, List.of(ProtectedProcessSpec.of("p", 0, 64)),
                WorkloadSpec.idle(50))).domId();
        int gone = hv.createDomain(new DomainConfig("gone-vm", 16, 1, List.of(), WorkloadSpec.idle(50))).domId();
        Domain d = hv.domain(kept);
        try (SourceSealing s = new SourceSealing(new javax.crypto.spec.SecretKeySpec(new byte[32], "AES"),
                org.sealift.protocol.handshake.MigrationId.of(new byte[16]), d.config.vmId(), d.processes,
                d.memoryFile.resolveSibling("slots.sealed"))) {
            assertTrue(Files.exists(s.file));
        }
        assertTrue(Files.exists(memory.resolve(SourceSealing.SpareSlots.SPARE_NAME)), "kept as the host's spare");
        hv.destroyDomain(gone);
        hv.close();
        assertFalse(Files.exists(memory), "memory directory removed, so nothing was left in it");
        hv = SimHypervisor.boot("d1", dir.resolve("state"), dir.resolve("hw"), dir.resolve("mem"),
                Optional.of(dir.resolve("vendor")), false); // for shutdown()
    }
}
