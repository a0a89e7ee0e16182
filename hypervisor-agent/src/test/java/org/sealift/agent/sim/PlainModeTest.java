package org.sealift.agent.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.sealift.agent.spi.ProtectedProcessSpec;
import org.sealift.agent.spi.SourceRequest;
import org.sealift.agent.spi.WorkloadSpec;

/** Plain mode is the unprotected baseline: the hypervisor refuses it, and metadata export, for protected VMs. */
class PlainModeTest {

    @TempDir
    static Path dir;
    static SimTestCluster cluster;
    static SimBackend h;

    @BeforeAll
    static void start() throws Exception {
        cluster = SimTestCluster.start(dir, false, "pm1");
        h = cluster.host("pm1");
    }

    @AfterAll
    static void stop() {
        cluster.close();
    }

    @Test
    void plainMigrationOfAProtectedVmIsRefusedWithTheFix() throws Exception {
        int id = h.createDomain(new DomainConfig("db-01", 16, 1, List.of(ProtectedProcessSpec.of("vault", 100, 10)),
                WorkloadSpec.idle(0))).domId();
        var e = assertThrows(HypervisorException.class, () -> h.beginPlainMigration(id));
        assertEquals(HypervisorException.Reason.PROTECTED_VM, e.reason());
        assertEquals("VM db-01 has protected processes (vault): plain migration would expose them; use --mode secure",
                e.getMessage());
        var export = assertThrows(HypervisorException.class, () -> h.exportProtectionMetadata(id));
        assertEquals(HypervisorException.Reason.PROTECTED_VM, export.reason());
        assertTrue(export.getMessage().contains("only sealed inside a secure migration's MANIFEST"),
                export.getMessage());
        // the refusals took no lock: nothing is in migration
        assertTrue(h.domainInfo(id).migration().isEmpty());
        h.destroyDomain(id);
    }

    @Test
    void anUnprotectedVmMigratesPlainUnderTheLock() throws Exception {
        int id = h.createDomain(new DomainConfig("web-01", 16, 2, List.of(), WorkloadSpec.idle(20))).domId();
        assertArrayEquals(new byte[0], h.exportProtectionMetadata(id), "nothing protected, nothing to export");
        h.resume(id);
        var m = h.beginPlainMigration(id);
        assertEquals(m.id(), h.domainInfo(id).migration().orElseThrow());
        var again = assertThrows(HypervisorException.class, () -> h.beginPlainMigration(id));
        assertEquals(HypervisorException.Reason.LOCKED, again.reason());
        var secure = assertThrows(HypervisorException.class,
                () -> h.beginSecureSource(SourceRequest.to(id, "elsewhere")));
        assertEquals(HypervisorException.Reason.LOCKED, secure.reason());
        // plain migrations are not attested: the hypervisor took no part in moving the memory
        var attest = assertThrows(HypervisorException.class, () -> h.signAttestation(m.id(), new byte[0]));
        assertTrue(attest.getMessage().contains("plain migration"), attest.getMessage());
        h.pause(id);
        m.finish(true);
        assertEquals(DomainState.MIGRATED_AWAY, h.domainInfo(id).state());
        assertThrows(HypervisorException.class, () -> h.resume(id));
        h.destroyDomain(id);
    }

    @Test
    void aPlainVcpuContextRoundTripsAndProtectedRegistersAreNotInIt() throws Exception {
        int id = h.createDomain(new DomainConfig("ctx-01", 16, 2, List.of(ProtectedProcessSpec.of("vault", 0, 4)),
                WorkloadSpec.idle(0).withSecretMarker(99))).domId();
        byte[] ctx = h.vcpuContext(id, 1);
        assertTrue(ctx.length > 0);
        assertTrue(!org.sealift.agent.spi.SecretMarker.forSeed(99).occursIn(java.nio.ByteBuffer.wrap(ctx)),
                "the protected process's saved registers are not in the kernel-visible context");
        ctx[0] ^= 1;
        h.setVcpuContext(id, 1, ctx);
        assertArrayEquals(ctx, h.vcpuContext(id, 1));
        var bad = assertThrows(HypervisorException.class, () -> h.vcpuContext(id, 2));
        assertEquals(HypervisorException.Reason.INVALID_ARGUMENT, bad.reason());
        h.destroyDomain(id);
    }
}
