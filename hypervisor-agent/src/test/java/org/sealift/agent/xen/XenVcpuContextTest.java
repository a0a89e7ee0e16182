package org.sealift.agent.xen;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sealift.agent.spi.DomainConfig;
import org.sealift.agent.spi.HypervisorException;
import org.sealift.agent.spi.HypervisorException.Reason;
import org.sealift.agent.spi.WorkloadSpec;

/** vCPU register blocks (Xen's vcpu_guest_context + HVM records) read on one domain and set on another. */
class XenVcpuContextTest {

    @TempDir
    Path tmp;
    private FakeXen host;
    private XenBackend xen;
    private int src;
    private int dst;

    @BeforeEach
    void twoDomains() throws Exception {
        host = FakeXen.init(tmp.resolve("host"), FakeXen.UNPATCHED);
        xen = host.open();
        src = xen.createDomain(config("ctx-src")).domId();
        dst = xen.createDomain(config("ctx-dst")).domId();
        xen.resume(src);
        for (int i = 0; i < 25; i++) {
            host.check(host.touch(src, i, 1, i), "touch"); // each guest write moves vCPU 0's rip
        }
        xen.pause(src);
    }

    @AfterEach
    void close() {
        xen.close();
    }

    private static DomainConfig config(String name) {
        return new DomainConfig(name, 16, 2, List.of(), WorkloadSpec.idle(0));
    }

    private static int hvmLength(byte[] block) {
        return ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getInt(12);
    }

    @Test
    void contextsRoundTripBetweenDomainsBitForBit() throws Exception {
        byte[] fresh = xen.vcpuContext(dst, 0);
        for (int v = 0; v < 2; v++) {
            byte[] block = xen.vcpuContext(src, v);
            assertEquals(0, block.length % 8);
            xen.setVcpuContext(dst, v, block);
            assertArrayEquals(block, xen.vcpuContext(dst, v), "vCPU " + v);
        }
        assertFalse(Arrays.equals(fresh, xen.vcpuContext(dst, 0)), "the guest's progress (rip) moved with vCPU 0");
    }

    @Test
    void theDomainsHvmRecordsRideWithVcpuZeroOnly() throws Exception {
        byte[] v0 = xen.vcpuContext(src, 0);
        byte[] v1 = xen.vcpuContext(src, 1);
        assertTrue(hvmLength(v0) > 0, "a PVH domain has HVM save records");
        assertEquals(0, hvmLength(v1));
        int vcpuLen = ByteBuffer.wrap(v1).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
        assertEquals(XenShimLoader.load(java.util.Optional.empty()).slx_vcpu_context_size(), vcpuLen);
        assertEquals((XenVcpuBlock.HEADER + vcpuLen + 7) / 8 * 8, v1.length);
        assertEquals((XenVcpuBlock.HEADER + vcpuLen + hvmLength(v0) + 7) / 8 * 8, v0.length);
    }

    @Test
    void aRunningDomainsContextIsNotOverwritten() throws Exception {
        byte[] block = xen.vcpuContext(src, 0);
        xen.resume(dst);
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.setVcpuContext(dst, 0, block));
        assertEquals(Reason.REFUSED, e.reason());
        assertTrue(e.getMessage().contains("pause it first"), e.getMessage());
    }

    @Test
    void blocksThatAreNotXensAreRefusedBeforeReachingTheHypervisor() throws Exception {
        byte[] block = xen.vcpuContext(src, 1);
        byte[] badMagic = block.clone();
        badMagic[0] ^= 1;
        assertEquals(Reason.INVALID_ARGUMENT, assertThrows(HypervisorException.class,
                () -> xen.setVcpuContext(dst, 1, badMagic)).reason());
        byte[] otherSize = block.clone();
        ByteBuffer.wrap(otherSize).order(ByteOrder.LITTLE_ENDIAN).putInt(8, block.length);
        HypervisorException e = assertThrows(HypervisorException.class, () -> xen.setVcpuContext(dst, 1, otherSize));
        assertTrue(e.getMessage().contains("same Xen release"), e.getMessage());
        byte[] padded = Arrays.copyOf(block, block.length + 8);
        padded[padded.length - 1] = 1;
        assertEquals(Reason.INVALID_ARGUMENT, assertThrows(HypervisorException.class,
                () -> xen.setVcpuContext(dst, 1, padded)).reason());
    }

    @Test
    void corruptHvmRecordsAreRejectedByXenWithItsExplanation() throws Exception {
        byte[] block = xen.vcpuContext(src, 0);
        int vcpuLen = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
        block[XenVcpuBlock.HEADER + vcpuLen] ^= 0x7f; // the first save record's type code
        XenException e = assertThrows(XenException.class, () -> xen.setVcpuContext(dst, 0, block));
        assertEquals("slx_hvm_context_set", e.function());
        assertEquals(22, e.errno(), "EINVAL");
        assertTrue(e.getMessage().contains("Xen rejected the save records"), e.getMessage());
        assertTrue(e.getMessage().contains("valid save header"), "fakexen's own reason: " + e.getMessage());
    }

    @Test
    void aVcpuTheDomainDoesNotHaveIsNamed() {
        XenException e = assertThrows(XenException.class, () -> xen.vcpuContext(src, 5));
        assertEquals(Reason.INVALID_ARGUMENT, e.reason());
        assertTrue(e.getMessage().contains("reading vCPU 5 of domain " + src) && e.getMessage().contains("no such vCPU"),
                e.getMessage());
    }
}
