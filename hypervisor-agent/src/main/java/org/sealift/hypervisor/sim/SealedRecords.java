package org.sealift.hypervisor.sim;

import java.nio.ByteBuffer;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.seal.SealedBlob;
import org.sealift.protocol.wire.RecordEncoder;
import org.sealift.protocol.wire.RecordType;

/**
 * The SEALED records dom0 hands the destination hypervisor, back to back as they came off the stream (framed as
 * docs/protocol.md §2.2 frames them), read where they lie: each record's header is checked (type SEALED, length
 * within the type's bounds and granule, zero padding, nothing cut off) and its body becomes a {@link SealedBlob}
 * view over the same array, so a megabyte of records costs no allocation and no copy before the opening. The array
 * must be the hypervisor's own (the message it received on its socket): nothing dom0 can still write.
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
        byte[] a;
        int p;
        int end;
        if (records.hasArray() && !records.isReadOnly()) {
            a = records.array();
            p = records.arrayOffset() + records.position();
            end = p + records.remaining();
        } else {
            // a direct buffer (the socket's inbox): one bulk copy into this thread's scratch array, which the
            // visitor's blobs read only until this call returns
            int n = records.remaining();
            a = SCRATCH.get();
            if (a.length < n) {
                a = new byte[Math.max(n, 2 << 20)];
                SCRATCH.set(a);
            }
            records.get(records.position(), a, 0, n);
            p = 0;
            end = n;
        }
        ByteBuffer header = ByteBuffer.wrap(a);
        RecordType sealed = RecordType.SEALED;
        int start = p;
        while (p < end) {
            if (end - p < RecordEncoder.HEADER_LENGTH) {
                throw truncated(p - start, end - start);
            }
            int code = header.getInt(p);
            long length = Integer.toUnsignedLong(header.getInt(p + 4));
            if (code != sealed.code()) {
                RecordType t = RecordType.forCode(code);
                throw new ProtocolException(Reason.UNEXPECTED_RECORD, "a " + (t != null ? t : RecordType.describe(code))
                        + " record was handed over as a sealed record (at octet " + (p - start) + ")");
            }
            if (length < sealed.minLength() || length > sealed.maxLength() || length % sealed.granule() != 0) {
                throw new ProtocolException(Reason.MALFORMED, "SEALED record at octet " + (p - start) + " claims "
                        + length + " octets; this type allows " + sealed.minLength() + " to " + sealed.maxLength()
                        + " in multiples of " + sealed.granule());
            }
            int body = p + RecordEncoder.HEADER_LENGTH;
            int pad = RecordEncoder.paddingLength(length);
            if (end - body < length + pad) {
                throw truncated(p - start, end - start);
            }
            for (int i = 0; i < pad; i++) {
                if (a[body + (int) length + i] != 0) {
                    throw new ProtocolException(Reason.MALFORMED, "non-zero padding after the SEALED record at octet "
                            + (p - start));
                }
            }
            visitor.accept(SealedBlob.view(a, body, (int) length));
            p = body + (int) length + pad;
        }
    }

    private static ProtocolException truncated(int at, int total) {
        return new ProtocolException(Reason.TRUNCATED, "sealed records end inside a record (the one at octet " + at
                + " of " + total + " is incomplete)");
    }
}
