package org.sealift.hypervisor.sim;

import java.nio.ByteBuffer;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;

/**
 * The SEALED records dom0 hands the destination hypervisor, back to back as they came off the stream (framed as
 * docs/protocol.md §2.2 frames them), copied once into the hypervisor's own scratch array (nothing dom0 can still
 * write) and read there: each record's header is checked (type SEALED, length within the type's bounds and granule,
 * nothing cut off) and its body becomes a {@link SealedBlob} view over that array, so a megabyte of
 * records costs one copy and no allocation before the opening.
 */
final class SealedRecords {

    /** Takes each record in turn; a thrown exception stops the walk. */
    @FunctionalInterface
    interface Visitor {
        void accept(SealedBlob blob) throws ProtocolException;
    }

    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[0]);

    private SealedRecords() {
    }

    /**
     * Walks the records of {@code records} (position to limit); the buffer's position does not move. The blobs are
     * views valid only during the visitor's call: keep what is needed of them (tag, plaintext), never the blob.
     */
    static void forEach(ByteBuffer records, Visitor visitor) throws ProtocolException {
        // one bulk copy into this thread's scratch array (the socket's inbox is direct memory; the opener wants an
        // array), which the visitor's blobs read only until this call returns
        int end = records.remaining();
        byte[] a = SCRATCH.get();
        if (a.length < end) {
            a = new byte[Math.max(end, 2 << 20)];
            SCRATCH.set(a);
        }
        records.get(records.position(), a, 0, end);
        int p = 0;
        ByteBuffer header = ByteBuffer.wrap(a);
        RecordType sealed = RecordType.SEALED;
        while (p < end) {
            if (end - p < RecordEncoder.HEADER_LENGTH) {
                throw truncated(p, end);
            }
            int code = header.getInt(p);
            long length = Integer.toUnsignedLong(header.getInt(p + 4));
            if (code != sealed.code()) {
                RecordType t = RecordType.forCode(code);
                throw new ProtocolException(Reason.UNEXPECTED_RECORD, "a " + (t != null ? t : RecordType.describe(code))
                        + " record was handed over as a sealed record (at octet " + p + ")");
            }
            if (!sealed.acceptsLength(length)) {
                throw new ProtocolException(Reason.MALFORMED, "SEALED record at octet " + p + " claims "
                        + length + " octets; this type allows " + sealed.minLength() + " to " + sealed.maxLength()
                        + " in multiples of " + sealed.granule());
            }
            // a SEALED body is a whole number of 8-octet granules: no padding follows it
            int body = p + RecordEncoder.HEADER_LENGTH;
            if (end - body < length) {
                throw truncated(p, end);
            }
            visitor.accept(SealedBlob.view(a, body, (int) length));
            p = body + (int) length;
        }
    }

    private static ProtocolException truncated(int at, int total) {
        return new ProtocolException(Reason.TRUNCATED, "sealed records end inside a record (the one at octet " + at
                + " of " + total + " is incomplete)");
    }
}
