package org.sealift.protocol.handshake;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Big-endian writer and strict reader for handshake bodies (layouts in docs/protocol-handshake.md). The reader checks
 * every length against what is left and against a limit before it allocates, insists that reserved fields and
 * padding are zero and that nothing trails the body, so each message has exactly one encoding.
 */
final class Codec {

    /** A chain on the wire is short; more entries is an attack on the parser, not a real chain. */
    static final int MAX_CHAIN_LENGTH = 8;
    static final int MAX_CERTIFICATE_BYTES = 16 * 1024;

    private Codec() {
    }

    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream(1024);

        Writer u32(int v) {
            out.writeBytes(ByteBuffer.allocate(4).putInt(v).array());
            return this;
        }

        Writer u64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).putLong(v).array());
            return this;
        }

        Writer fixed(byte[] b, int length) {
            if (b.length != length) {
                throw new IllegalArgumentException("field must be " + length + " bytes, got " + b.length);
            }
            out.writeBytes(b);
            return this;
        }

        /** count u32, reserved u32, then per certificate: length u32, reserved u32, DER, zero padding to 8. */
        Writer chain(List<byte[]> ders) {
            u32(ders.size()).u32(0);
            for (byte[] der : ders) {
                u32(der.length).u32(0);
                out.writeBytes(der);
                out.writeBytes(new byte[pad8(der.length)]);
            }
            return this;
        }

        int size() {
            return out.size();
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }

    static final class Reader {
        private final String message;
        private final ByteBuffer in;

        Reader(String message, byte[] body) {
            this.message = message;
            this.in = ByteBuffer.wrap(body);
        }

        int position() {
            return in.position();
        }

        private void need(int n, String field) throws ProtocolException {
            if (n < 0 || in.remaining() < n) {
                throw new ProtocolException(Reason.MALFORMED, message + " is too short: " + field + " at offset "
                        + in.position() + " needs " + n + " bytes, " + in.remaining() + " left");
            }
        }

        int u32(String field) throws ProtocolException {
            need(4, field);
            return in.getInt();
        }

        long u64(String field) throws ProtocolException {
            need(8, field);
            return in.getLong();
        }

        void reserved(String field) throws ProtocolException {
            int at = in.position();
            if (u32(field) != 0) {
                throw new ProtocolException(Reason.MALFORMED, message + ": reserved field " + field + " at offset "
                        + at + " is not zero");
            }
        }

        byte[] fixed(int length, String field) throws ProtocolException {
            need(length, field);
            byte[] b = new byte[length];
            in.get(b);
            return b;
        }

        List<byte[]> chain(String field) throws ProtocolException {
            int count = u32(field + " count");
            reserved(field + " reserved");
            if (count < 0 || count > MAX_CHAIN_LENGTH) {
                throw new ProtocolException(Reason.MALFORMED, message + ": " + field + " has "
                        + Integer.toUnsignedString(count) + " certificates, limit " + MAX_CHAIN_LENGTH);
            }
            List<byte[]> ders = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int length = u32(field + "[" + i + "] length");
                reserved(field + "[" + i + "] reserved");
                if (length <= 0 || length > MAX_CERTIFICATE_BYTES) {
                    throw new ProtocolException(Reason.MALFORMED, message + ": " + field + "[" + i + "] is "
                            + Integer.toUnsignedString(length) + " bytes, allowed 1.." + MAX_CERTIFICATE_BYTES);
                }
                ders.add(fixed(length, field + "[" + i + "]"));
                byte[] padding = fixed(pad8(length), field + "[" + i + "] padding");
                for (byte p : padding) {
                    if (p != 0) {
                        throw new ProtocolException(Reason.MALFORMED, message + ": padding after " + field + "["
                                + i + "] is not zero");
                    }
                }
            }
            return ders;
        }

        void end() throws ProtocolException {
            if (in.hasRemaining()) {
                throw new ProtocolException(Reason.MALFORMED, message + " has " + in.remaining()
                        + " unexpected bytes after its last field at offset " + in.position());
            }
        }
    }

    static int pad8(int length) {
        return (8 - (length & 7)) & 7;
    }
}
