package org.sealift.protocol.wire;

import java.nio.ByteBuffer;

/** Frames records as {type, length, sequence, body, zero padding to 8 octets} (docs/protocol.md §2.2). */
public final class RecordEncoder {

    public static final int HEADER_LENGTH = 16;

    private RecordEncoder() {
    }

    /** Zero octets that follow a body of {@code bodyLength} octets. */
    public static int paddingLength(long bodyLength) {
        return (int) ((8 - (bodyLength & 7)) & 7);
    }

    /** Header + body + padding. */
    public static int encodedLength(int bodyLength) {
        return HEADER_LENGTH + bodyLength + paddingLength(bodyLength);
    }

    /** Writes the 16-octet record header; the caller then writes the body and {@link #writePadding}. */
    public static void writeHeader(ByteBuffer out, RecordType type, long sequence, int bodyLength) {
        if (!type.acceptsLength(bodyLength)) {
            throw new IllegalArgumentException(type + " body of " + bodyLength + " octets breaks its length rules");
        }
        out.putInt(type.code()).putInt(bodyLength).putLong(sequence);
    }

    public static void writePadding(ByteBuffer out, int bodyLength) {
        for (int i = paddingLength(bodyLength); i > 0; i--) {
            out.put((byte) 0);
        }
    }

    /** Writes the whole record into {@code out} (big-endian regardless of the buffer's order setting). */
    public static void encode(WireRecord record, ByteBuffer out) {
        ByteBuffer o = out.order() == java.nio.ByteOrder.BIG_ENDIAN ? out : out.duplicate()
                .order(java.nio.ByteOrder.BIG_ENDIAN);
        writeHeader(o, record.type(), record.sequence(), record.body().length);
        o.put(record.body());
        writePadding(o, record.body().length);
        if (o != out) {
            out.position(o.position());
        }
    }

    public static byte[] encode(WireRecord record) {
        ByteBuffer b = ByteBuffer.allocate(record.encodedLength());
        encode(record, b);
        return b.array();
    }
}
