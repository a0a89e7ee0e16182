package org.sealift.protocol.pki;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes the deterministic big-endian encoding used for everything Sealift signs outside X.509 (policies, fences,
 * attestation records, log entries and heads). One value has exactly one encoding, so a signature over the bytes is
 * a signature over the value. Layouts are in docs/protocol-attestation.md.
 */
public final class CanonicalWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream(256);

    public CanonicalWriter u8(int v) {
        if (v < 0 || v > 0xff) {
            throw new IllegalArgumentException("u8 out of range: " + v);
        }
        out.write(v);
        return this;
    }

    public CanonicalWriter u16(int v) {
        if (v < 0 || v > 0xffff) {
            throw new IllegalArgumentException("u16 out of range: " + v);
        }
        out.write(v >>> 8);
        out.write(v);
        return this;
    }

    public CanonicalWriter u32(long v) {
        if (v < 0 || v > 0xffff_ffffL) {
            throw new IllegalArgumentException("u32 out of range: " + v);
        }
        for (int shift = 24; shift >= 0; shift -= 8) {
            out.write((int) (v >>> shift));
        }
        return this;
    }

    /** Eight bytes big-endian; Java longs are written as their two's-complement bits (u64 and i64 alike). */
    public CanonicalWriter u64(long v) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.write((int) (v >>> shift));
        }
        return this;
    }

    /** Fixed-length bytes, no length prefix (the layout says how many). */
    public CanonicalWriter fixed(byte[] b, int expectedLength) {
        if (b.length != expectedLength) {
            throw new IllegalArgumentException("expected " + expectedLength + " bytes, got " + b.length);
        }
        out.writeBytes(b);
        return this;
    }

    /** Raw bytes, no length prefix: magic strings and already-encoded parts. */
    public CanonicalWriter raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    /** u16 length + UTF-8. */
    public CanonicalWriter str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u16(b.length);
        out.writeBytes(b);
        return this;
    }

    /** u32 length + bytes. */
    public CanonicalWriter blob(byte[] b) {
        u32(b.length);
        out.writeBytes(b);
        return this;
    }

    public byte[] toByteArray() {
        return out.toByteArray();
    }

    /** ASCII bytes of a magic / domain-separation string. */
    public static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
