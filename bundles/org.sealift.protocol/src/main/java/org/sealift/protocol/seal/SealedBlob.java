package org.sealift.protocol.seal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.wire.PageBatch;
import org.sealift.protocol.wire.RecordType;
import org.sealift.protocol.wire.WireRecord;

/**
 * A SEALED record body as the agent sees it: public header fields and opaque ciphertext (docs/protocol.md §4.2).
 * This is all an agent ever holds of a protected page or protected vCPU context; only the hypervisors' {@link Sealer}
 * and {@link Opener} hold the key. Immutable.
 */
public final class SealedBlob {

    public static final int HEADER_LENGTH = 32;
    public static final int TAG_LENGTH = 16;
    public static final int MAX_CONTEXT_LENGTH = 65_536;
    /** Body length of a sealed page. */
    public static final int PAGE_BODY_LENGTH = HEADER_LENGTH + PageBatch.PAGE_SIZE + TAG_LENGTH;

    private final byte[] body;
    private final SealKind kind;
    private final int processId;
    private final long counter;
    private final long target;
    private final long version;

    private SealedBlob(byte[] body, SealKind kind, int processId, long counter, long target, long version) {
        this.body = body;
        this.kind = kind;
        this.processId = processId;
        this.counter = counter;
        this.target = target;
        this.version = version;
    }

    /** Writes the 32-octet header into {@code out} at {@code offset}. */
    static void writeHeader(byte[] out, int offset, SealKind kind, int processId, long counter, long target,
            long version) {
        ByteBuffer.wrap(out, offset, HEADER_LENGTH).put((byte) kind.wire()).put((byte) 0).putShort((short) 0)
                .putInt(processId).putLong(counter).putLong(target).putLong(version);
    }

    /** Parses a SEALED record body (from the network: every field is checked, nothing is trusted). */
    public static SealedBlob decode(byte[] body) throws ProtocolException {
        Objects.requireNonNull(body, "body");
        if (body.length < HEADER_LENGTH + 8 + TAG_LENGTH
                || body.length > HEADER_LENGTH + MAX_CONTEXT_LENGTH + TAG_LENGTH || body.length % 8 != 0) {
            throw malformed("body of " + body.length + " octets is outside [56, 65584] or not a multiple of 8");
        }
        ByteBuffer b = ByteBuffer.wrap(body);
        int kindOctet = Byte.toUnsignedInt(b.get());
        SealKind kind = SealKind.fromWire(kindOctet);
        if (kind == null) {
            throw malformed("unknown kind " + kindOctet + " (1 = PAGE, 2 = VCPU)");
        }
        if (b.get() != 0 || b.getShort() != 0) {
            throw malformed("reserved octets are not zero");
        }
        int processId = b.getInt();
        long counter = b.getLong();
        long target = b.getLong();
        long version = b.getLong();
        if (version == 0) {
            throw malformed("version 0; versions start at 1");
        }
        if (counter == -1L) {
            throw malformed("seal counter 2^64-1 is never used");
        }
        if (kind == SealKind.PAGE) {
            if (body.length != PAGE_BODY_LENGTH) {
                throw malformed("a sealed page is " + PAGE_BODY_LENGTH + " octets, got " + body.length);
            }
            if (target < 0 || target > PageBatch.MAX_PFN) {
                throw malformed("pfn " + Long.toUnsignedString(target) + " is beyond " + PageBatch.MAX_PFN);
            }
        } else if (target < 0 || target > 0xffff_ffffL) {
            throw malformed("vCPU id " + Long.toUnsignedString(target) + " does not fit in 32 bits");
        }
        return new SealedBlob(body, kind, processId, counter, target, version);
    }

    /** Parses the body of a SEALED {@link WireRecord}. */
    public static SealedBlob decode(WireRecord record) throws ProtocolException {
        if (record.type() != RecordType.SEALED) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, record + " is not a SEALED record");
        }
        return decode(record.body());
    }

    private static ProtocolException malformed(String what) {
        return new ProtocolException(Reason.MALFORMED, "SEALED: " + what);
    }

    public SealKind kind() {
        return kind;
    }

    public int processId() {
        return processId;
    }

    /** The seal counter that, with the kind's prefix, formed the nonce. */
    public long counter() {
        return counter;
    }

    /** The pfn (PAGE) or vCPU id (VCPU). */
    public long target() {
        return target;
    }

    public long version() {
        return version;
    }

    /** The GCM tag: the integrity value the manifest lists for this (target, version). */
    public byte[] tag() {
        return Arrays.copyOfRange(body, body.length - TAG_LENGTH, body.length);
    }

    public int ciphertextLength() {
        return body.length - HEADER_LENGTH - TAG_LENGTH;
    }

    public int bodyLength() {
        return body.length;
    }

    /** A copy of the record body. */
    public byte[] body() {
        return body.clone();
    }

    /** Writes the record body into {@code out} without an intermediate copy. */
    public void writeTo(ByteBuffer out) {
        out.put(body);
    }

    /** The SEALED record with this body. The body array is shared with the record; neither is ever changed. */
    public WireRecord toRecord(long sequence) {
        return new WireRecord(RecordType.SEALED, sequence, body);
    }

    /** Internal access for the opener: the array itself, never handed out. */
    byte[] bodyArray() {
        return body;
    }

    @Override
    public String toString() {
        return "SealedBlob[" + kind + ", process " + Integer.toUnsignedString(processId) + ", "
                + (kind == SealKind.PAGE ? "pfn " : "vCPU ") + target + ", version " + Long.toUnsignedString(version)
                + ", counter " + Long.toUnsignedString(counter) + "]";
    }
}
