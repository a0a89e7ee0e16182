package org.sealift.agent.xen;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.sealift.agent.spi.HypervisorException;

/**
 * The Xen backend's register block inside a VCPU_CONTEXT record (docs/protocol.md §4.3 leaves it to the backend):
 *
 * <pre>
 *   0  8  magic "SLXVCPU1"
 *   8  4  v = length of Xen's vcpu_guest_context_any_t (little-endian; slx_vcpu_context_size())
 *  12  4  h = length of the domain's HVM save records (0 except in vCPU 0's block of an HVM/PVH domain)
 *  16  v  vcpu_guest_context_any_t as xc_vcpu_getcontext returned it
 *  ..  h  HVM save records as xc_domain_hvm_getcontext returned them
 *  ..     zero padding to a multiple of 8
 * </pre>
 *
 * The HVM records (interrupt controllers, timers, per-vCPU CPU state of HVM/PVH guests) belong to the domain, not to
 * one vCPU; they ride with vCPU 0 because the engine moves only VCPU_CONTEXT records, and vCPU 0 always exists. Both
 * parts are Xen's own formats, opaque here; the destination's Xen validates them when they are set.
 */
final class XenVcpuBlock {

    static final byte[] MAGIC = "SLXVCPU1".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER = 16;
    /** docs/protocol.md §4.3: a register block is at most 64 KiB. */
    static final int MAX = 65_536;

    final byte[] vcpu;
    final byte[] hvm;

    XenVcpuBlock(byte[] vcpu, byte[] hvm) {
        this.vcpu = vcpu;
        this.hvm = hvm;
    }

    byte[] encode(int domId, int vcpuId) throws HypervisorException {
        long raw = (long) HEADER + vcpu.length + hvm.length;
        long padded = (raw + 7) & ~7L;
        if (padded > MAX) {
            throw new HypervisorException(HypervisorException.Reason.INTERNAL, "vCPU " + vcpuId + " of domain " + domId
                    + ": its context (" + vcpu.length + " bytes) and the domain's HVM records (" + hvm.length
                    + " bytes) exceed the " + MAX + "-byte VCPU_CONTEXT limit; a domain this large needs the HVM"
                    + " records split over several vCPU blocks, which the Xen backend does not do yet");
        }
        ByteBuffer b = ByteBuffer.allocate((int) padded).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(vcpu.length).putInt(hvm.length).put(vcpu).put(hvm);
        return b.array();
    }

    /**
     * Parses a block made by {@link #encode} on the source host.
     *
     * @param vcpuSize this host's vcpu_guest_context_any_t size: a block from a Xen whose layout differs is refused
     */
    static XenVcpuBlock decode(byte[] block, int vcpuSize, int domId, int vcpuId) throws HypervisorException {
        String where = "vCPU context for vCPU " + vcpuId + " of domain " + domId + ": ";
        if (block == null || block.length < HEADER || block.length > MAX || block.length % 8 != 0
                || !Arrays.equals(MAGIC, 0, MAGIC.length, block, 0, MAGIC.length)) {
            throw invalid(where + "not a Xen register block (" + (block == null ? "none" : block.length + " bytes")
                    + ", magic SLXVCPU1 and a multiple of 8 up to " + MAX + " bytes expected); the source must run"
                    + " the Xen backend too");
        }
        ByteBuffer b = ByteBuffer.wrap(block).order(ByteOrder.LITTLE_ENDIAN);
        b.position(MAGIC.length);
        long v = Integer.toUnsignedLong(b.getInt());
        long h = Integer.toUnsignedLong(b.getInt());
        if (v != vcpuSize) {
            throw invalid(where + "the source's Xen vCPU context is " + v + " bytes, this host's is " + vcpuSize
                    + "; both hosts need the same Xen release and architecture");
        }
        long used = HEADER + v + h;
        if (used > block.length || ((used + 7) & ~7L) != block.length) {
            throw invalid(where + "lengths " + v + " + " + h + " do not match the " + block.length + "-byte block");
        }
        for (int i = (int) used; i < block.length; i++) {
            if (block[i] != 0) {
                throw invalid(where + "non-zero padding at byte " + i);
            }
        }
        byte[] vcpu = new byte[(int) v];
        byte[] hvm = new byte[(int) h];
        b.get(vcpu).get(hvm);
        return new XenVcpuBlock(vcpu, hvm);
    }

    private static HypervisorException invalid(String message) {
        return new HypervisorException(HypervisorException.Reason.INVALID_ARGUMENT, message);
    }
}
