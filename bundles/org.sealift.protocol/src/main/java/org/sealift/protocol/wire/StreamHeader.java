package org.sealift.protocol.wire;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * The 16-octet header that opens each direction of a migration stream (docs/protocol.md §2.1): magic, version and
 * the SECURE flag. Its bytes are part of the signed handshake transcript, so rewriting them breaks the handshake.
 */
public record StreamHeader(int version, boolean secure) {

    public static final int LENGTH = 16;
    /** The only version this implementation speaks. */
    public static final int VERSION_1 = 1;
    /** ASCII "SEALIFT" and a zero octet. */
    private static final byte[] MAGIC = {'S', 'E', 'A', 'L', 'I', 'F', 'T', 0};
    private static final int FLAG_SECURE = 0x0001;

    public StreamHeader {
        if (version < 0 || version > 0xffff) {
            throw new IllegalArgumentException("version must fit in 16 bits: " + version);
        }
    }

    /** Header of a secure-mode stream (VMs with protected processes). */
    public static StreamHeader secureV1() {
        return new StreamHeader(VERSION_1, true);
    }

    /** Header of a plain-mode stream (unprotected VMs only). */
    public static StreamHeader plainV1() {
        return new StreamHeader(VERSION_1, false);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        b.put(MAGIC).putShort((short) version).putShort((short) (secure ? FLAG_SECURE : 0)).putInt(0);
        return b.array();
    }

    /** Parses and checks 16 octets; the version must be one this implementation speaks ({@link #requireSpoken}). */
    public static StreamHeader decode(byte[] bytes) throws ProtocolException {
        StreamHeader h = parse(bytes);
        h.requireSpoken();
        return h;
    }

    /**
     * Parses 16 octets and checks magic, flags and reserved field, but accepts any version. For a reader that
     * leaves the version to someone else: in secure mode the headers are signed into the handshake transcript and
     * the hypervisor judges the version itself (so a rewritten one is recorded as its {@code DOWNGRADE}, not as
     * dom0's framing error); every other reader calls {@link #decode}.
     */
    public static StreamHeader parse(byte[] bytes) throws ProtocolException {
        if (bytes.length != LENGTH) {
            throw new ProtocolException(Reason.TRUNCATED,
                    "stream header is " + LENGTH + " octets, got " + bytes.length);
        }
        if (!Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new ProtocolException(Reason.MALFORMED, "not a Sealift migration stream: magic is "
                    + HexFormat.of().formatHex(bytes, 0, MAGIC.length) + ", expected "
                    + HexFormat.of().formatHex(MAGIC) + " (\"SEALIFT\\0\"); is the peer a Sealift agent?");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, MAGIC.length, LENGTH - MAGIC.length);
        int version = Short.toUnsignedInt(b.getShort());
        int flags = Short.toUnsignedInt(b.getShort());
        int reserved = b.getInt();
        if ((flags & ~FLAG_SECURE) != 0 || reserved != 0) {
            throw new ProtocolException(Reason.MALFORMED, String.format(
                    "stream header has reserved bits set (flags 0x%04x, reserved 0x%08x); they must be zero in"
                            + " version 1", flags, reserved));
        }
        return new StreamHeader(version, (flags & FLAG_SECURE) != 0);
    }

    /**
     * The version must be one this implementation speaks. A lower one is a {@code DOWNGRADE}: no version below 1
     * exists, so it can only be an attempt to talk an older, weaker protocol. A higher one is {@code MALFORMED}
     * (a newer peer: upgrade this host).
     */
    public void requireSpoken() throws ProtocolException {
        if (version < VERSION_1) {
            throw new ProtocolException(Reason.DOWNGRADE, "peer speaks SMP version " + version + ", below version "
                    + VERSION_1 + ", the lowest this implementation accepts: the stream header was rewritten to a"
                    + " lower version");
        }
        if (version != VERSION_1) {
            throw new ProtocolException(Reason.MALFORMED, "peer speaks SMP version " + version
                    + ", this implementation speaks only version " + VERSION_1 + "; upgrade the older host");
        }
    }
}
