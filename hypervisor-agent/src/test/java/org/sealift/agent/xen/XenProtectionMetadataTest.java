package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.WorkloadSpec;

/**
 * Sealift's protection-metadata domctl through the shim's libxencall path: unsupported on an unpatched Xen, an opaque
 * hypervisor-checked blob between two patched ones, and refusals that dom0 cannot talk its way around.
 */
class XenProtectionMetadataTest {

    private static final byte[] SECRET_STATE = "sealed process table".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path tmp;

    private static DomainConfig config(String name) {
        return new DomainConfig(name, 16, 1, List.of(), WorkloadSpec.idle(0));
    }

    @Test
    void anUnpatchedXenSaysTheDomctlIsMissingAndAllowsPlainModeOnly() throws Exception {
        FakeXen host = FakeXen.init(tmp.resolve("plain"), FakeXen.UNPATCHED);
        try (XenBackend xen = host.open()) {
            int dom = xen.createDomain(config("unprotected")).domId();
            assertFalse(xen.protectionSupported());
            XenException e = assertThrows(XenException.class, () -> xen.exportProtectionMetadata(dom));
            assertTrue(e.unsupported());
            assertEquals(38, e.errno(), "ENOSYS");
            assertEquals(Reason.REFUSED, e.reason());
            String m = e.getMessage();
            assertTrue(m.contains("does not implement Sealift's protection-metadata domctl (an unpatched hypervisor)")
                    && m.contains("docs/xen-integration.md"), "the shim's explanation and fix: " + m);
            assertTrue(m.contains("only run plain-mode migrations of VMs without protected processes"), m);
            XenException imp = assertThrows(XenException.class,
                    () -> xen.importProtectionMetadata(dom, new byte[16]));
            assertTrue(imp.unsupported(), imp.getMessage());
            assertEquals(0, xen.protectedPages(dom).cardinality(), "an unpatched Xen protects nothing");
            xen.beginPlainMigration(dom).finish(false);
        }
    }

    @Test
    void metadataMovesAsAnOpaqueBlobBetweenTwoPatchedHosts() throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("a"), FakeXen.PATCHED);
        FakeXen b = FakeXen.init(tmp.resolve("b"), FakeXen.PATCHED);
        try (XenBackend xa = a.open(); XenBackend xb = b.open()) {
            assertTrue(xa.protectionSupported());
            int src = xa.createDomain(config("guarded")).domId();
            int dst = xb.createDomain(config("guarded")).domId();
            a.setProtectionMetadata(src, SECRET_STATE);
            long size = xa.protectionMetadataSize(src);
            byte[] blob = xa.exportProtectionMetadata(src);
            assertEquals(size, blob.length);
            assertTrue(blob.length > SECRET_STATE.length, "the hypervisor's framing around the state");
            xb.importProtectionMetadata(dst, blob);
            assertArrayEquals(SECRET_STATE, b.protectionMetadata(dst), "the destination hypervisor holds it now");
        }
    }

    @Test
    void anAlteredBlobIsRejectedByTheReceivingHypervisor() throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("a"), FakeXen.PATCHED);
        FakeXen b = FakeXen.init(tmp.resolve("b"), FakeXen.PATCHED);
        try (XenBackend xa = a.open(); XenBackend xb = b.open()) {
            int src = xa.createDomain(config("guarded")).domId();
            int dst = xb.createDomain(config("guarded")).domId();
            a.setProtectionMetadata(src, SECRET_STATE);
            byte[] blob = xa.exportProtectionMetadata(src);
            blob[10] ^= 1; // dom0 changes one byte in transit
            XenException e = assertThrows(XenException.class, () -> xb.importProtectionMetadata(dst, blob));
            assertEquals(74, e.errno(), "EBADMSG");
            assertEquals(Reason.REFUSED, e.reason());
            assertTrue(e.getMessage().contains("the hypervisor rejected the blob")
                    && e.getMessage().contains("altered"), e.getMessage());
            assertArrayEquals(new byte[0], b.protectionMetadata(dst), "nothing was imported");
        }
    }

    @Test
    void aHypervisorThatRefusesTheExportStopsPlainModeToo() throws Exception {
        FakeXen a = FakeXen.init(tmp.resolve("a"), FakeXen.PATCHED);
        try (XenBackend xa = a.open()) {
            int dom = xa.createDomain(config("vaulted")).domId();
            a.setProtectionMetadata(dom, SECRET_STATE);
            a.refuseProtectionMetadata(dom, 1 /* EPERM */);
            XenException e = assertThrows(XenException.class, () -> xa.exportProtectionMetadata(dom));
            assertEquals(Reason.PROTECTED_VM, e.reason());
            assertTrue(e.getMessage().contains("moves only through a sealed (secure-mode) migration"), e.getMessage());
            HypervisorException plain = assertThrows(HypervisorException.class, () -> xa.beginPlainMigration(dom));
            assertEquals(Reason.PROTECTED_VM, plain.reason());
            assertTrue(plain.getMessage().contains("protected state in the hypervisor"), plain.getMessage());
            assertEquals(Reason.PROTECTED_VM, assertThrows(HypervisorException.class,
                    () -> xa.protectedPages(dom)).reason());
        }
    }
}
