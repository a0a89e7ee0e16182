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
 * and {@link Opener} hold the key. Immutable, except a {@link #view view} over an array its caller owns: it is
 * as immutable as the caller keeps that region.
 */
public final class SealedBlob {

    public static final int HEADER_LENGTH = 32;
    public static final int TAG_LENGTH = 16;
    public static final int MAX_CONTEXT_LENGTH = 65_536;
    /** Body length of a sealed page. */
    public static final int PAGE_BODY_LENGTH = HEADER_LENGTH + PageBatch.PAGE_SIZE + TAG_LENGTH;

    private final byte[] body;
    /** Where the body lies in {@code body} (0 and its length, except for a view). */
    private final int off;
    private final int len;
    private final SealKind kind;
    private final int processId;
    private final long counter;
    private final long target;
    private final long version;

    private SealedBlob(byte[] body, int off, int len, SealKind kind, int processId, long counter, long target,
            long version) {
        this.body = body;
        this.off = off;
        this.len = len;
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
        return decode(body, 0, body.length);
    }

    /**
     * Parses the SEALED record body at {@code array[offset, offset + length)} without copying it: the blob reads
     * that region for as long as it is used, so the caller must own the array and leave the region unchanged
     * meanwhile (a receiver's private buffer, never memory another party can write). Checks as {@link #decode}.
     */
    public static SealedBlob view(byte[] array, int offset, int length) throws ProtocolException {
        Objects.requireNonNull(array, "array");
        Objects.checkFromIndexSize(offset, length, array.length);
        return decode(array, offset, length);
    }

    private static SealedBlob decode(byte[] body, int offset, int length) throws ProtocolException {
        if (length < HEADER_LENGTH + 8 + TAG_LENGTH
                || length > HEADER_LENGTH + MAX_CONTEXT_LENGTH + TAG_LENGTH || length % 8 != 0) {
            throw malformed("body of " + length + " octets is outside [56, 65584] or not a multiple of 8");
        }
        ByteBuffer b = ByteBuffer.wrap(body, offset, length);
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
            if (length != PAGE_BODY_LENGTH) {
                throw malformed("a sealed page is " + PAGE_BODY_LENGTH + " octets, got " + length);
            }
            if (target < 0 || target > PageBatch.MAX_PFN) {
                throw malformed("pfn " + Long.toUnsignedString(target) + " is beyond " + PageBatch.MAX_PFN);
            }
        } else if (target < 0 || target > 0xffff_ffffL) {
            throw malformed("vCPU id " + Long.toUnsignedString(target) + " does not fit in 32 bits");
        }
        return new SealedBlob(body, offset, length, kind, processId, counter, target, version);
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
        return Arrays.copyOfRange(body, off + len - TAG_LENGTH, off + len);
    }

    /** Copies the GCM tag into {@code out} at {@code offset} (no allocation, for tables of many tags). */
    public void copyTag(byte[] out, int offset) {
        System.arraycopy(body, off + len - TAG_LENGTH, out, offset, TAG_LENGTH);
    }

    public int ciphertextLength() {
        return len - HEADER_LENGTH - TAG_LENGTH;
    }

    public int bodyLength() {
        return len;
    }

    /** A copy of the record body. */
    public byte[] body() {
        return Arrays.copyOfRange(body, off, off + len);
    }

    /** Writes the record body into {@code out} without an intermediate copy. */
    public void writeTo(ByteBuffer out) {
        out.put(body, off, len);
    }

    /**
     * The SEALED record with this body. A decoded body array is shared with the record (neither is ever changed);
     * a view's region is copied.
     */
    public WireRecord toRecord(long sequence) {
        return new WireRecord(RecordType.SEALED, sequence, off == 0 && len == body.length ? body : body());
    }

    /** Internal access for the opener: the array itself, never handed out; the body starts at {@link #bodyOffset}. */
    byte[] bodyArray() {
        return body;
    }

    int bodyOffset() {
        return off;
    }

    @Override
    public String toString() {
        return "SealedBlob[" + kind + ", process " + Integer.toUnsignedString(processId) + ", "
                + (kind == SealKind.PAGE ? "pfn " : "vCPU ") + target + ", version " + Long.toUnsignedString(version)
                + ", counter " + Long.toUnsignedString(counter) + "]";
    }
}
