package org.sealift.protocol.wire;

import java.util.Objects;

/**
 * One framed record: type, sequence and body (docs/protocol.md §2.2). The body array is not copied (page batches are
 * megabytes); whoever builds a record hands the array over and must not change it afterwards.
 *
 * @param type     a registered type (unknown optional records never become a WireRecord: the decoder skips them)
 * @param sequence control records: the control sequence number; others: the sender's record index (diagnostic)
 * @param body     the body without padding
 */
public record WireRecord(RecordType type, long sequence, byte[] body) {

    private static final byte[] EMPTY = new byte[0];

    public WireRecord {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(body, "body");
        if (!type.acceptsLength(body.length)) {
            throw new IllegalArgumentException(type + " body of " + body.length + " octets is outside ["
                    + type.minLength() + ", " + type.maxLength() + "] or not a multiple of " + type.granule());
        }
    }

    /** The END record that closes a stream. */
    public static WireRecord end(long sequence) {
        return new WireRecord(RecordType.END, sequence, EMPTY);
    }

    /** Octets this record takes on the wire: header, body and padding. */
    public int encodedLength() {
        return RecordEncoder.encodedLength(body.length);
    }

    @Override
    public String toString() {
        return type + "[seq=" + Long.toUnsignedString(sequence) + ", " + body.length + " octets]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WireRecord r && r.type == type && r.sequence == sequence
                && java.util.Arrays.equals(r.body, body);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, sequence, java.util.Arrays.hashCode(body));
    }
}
