package org.sealift.protocol.wire;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Body of a VCPU_CONTEXT record: the guest-visible register block of one vCPU, in plaintext (docs/protocol.md §4.3).
 * A protected process's own registers never travel here; they are SEALED records of kind VCPU.
 */
public record VcpuContextRecord(int vcpuId, byte[] context) {

    public static final int MAX_CONTEXT_LENGTH = 65_536;
    public static final int MIN_BODY_LENGTH = 16;
    public static final int MAX_BODY_LENGTH = 8 + MAX_CONTEXT_LENGTH;

    public VcpuContextRecord {
        Objects.requireNonNull(context, "context");
        if (context.length < 8 || context.length > MAX_CONTEXT_LENGTH || context.length % 8 != 0) {
            throw new IllegalArgumentException("a vCPU context is 8.." + MAX_CONTEXT_LENGTH
                    + " octets, a multiple of 8; got " + context.length);
        }
        context = context.clone();
    }

    @Override
    public byte[] context() {
        return context.clone();
    }

    public byte[] encode() {
        return ByteBuffer.allocate(8 + context.length).putInt(vcpuId).putInt(0).put(context).array();
    }

    public static VcpuContextRecord decode(byte[] body) throws ProtocolException {
        if (body.length < MIN_BODY_LENGTH || body.length > MAX_BODY_LENGTH || body.length % 8 != 0) {
            throw new ProtocolException(Reason.MALFORMED, "VCPU_CONTEXT body of " + body.length
                    + " octets is outside [" + MIN_BODY_LENGTH + ", " + MAX_BODY_LENGTH + "] or not a multiple of 8");
        }
        ByteBuffer b = ByteBuffer.wrap(body);
        int vcpu = b.getInt();
        if (b.getInt() != 0) {
            throw new ProtocolException(Reason.MALFORMED, "VCPU_CONTEXT reserved field is not zero");
        }
        return new VcpuContextRecord(vcpu, Arrays.copyOfRange(body, 8, body.length));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VcpuContextRecord r && r.vcpuId == vcpuId && Arrays.equals(r.context, context);
    }

    @Override
    public int hashCode() {
        return 31 * vcpuId + Arrays.hashCode(context);
    }

    @Override
    public String toString() {
        return "VcpuContextRecord[vcpu=" + Integer.toUnsignedString(vcpuId) + ", " + context.length + " octets]";
    }
}
