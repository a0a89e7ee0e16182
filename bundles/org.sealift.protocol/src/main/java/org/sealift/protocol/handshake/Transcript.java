package org.sealift.protocol.handshake;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The SMP1 handshake transcript hash:
 *
 * <pre>
 *   TH = SHA-256( ASCII("SMP1/transcript")                15 octets
 *               ‖ source → destination stream header      16 octets, exact bytes (docs/protocol.md §2.1)
 *               ‖ destination → source stream header      16 octets, exact bytes
 *               ‖ suite                                   u32
 *               ‖ source policy serial                    u64
 *               ‖ destination policy serial               u64
 *               ‖ len(HELLO) u32      ‖ HELLO             exact body octets
 *               ‖ len(REPLY_core) u32 ‖ REPLY_core )      exact HELLO_REPLY body octets before the signature
 * </pre>
 *
 * Integers big-endian. Each side puts in its own view: the source the header it wrote and the suite it offered, the
 * destination the header it read and the suite it accepted; likewise for the other direction. Both sides sign TH, so
 * a rewritten stream header (version, SECURE flag), suite or policy serial anywhere on the path breaks the
 * signatures. TH keys the session, both signatures, both MACs, and the commit tokens.
 */
public final class Transcript {

    static final byte[] LABEL = "SMP1/transcript".getBytes(StandardCharsets.US_ASCII);
    static final int STREAM_HEADER_LENGTH = 16;

    private Transcript() {
    }

    public static byte[] hash(byte[] sourceStreamHeader, byte[] destinationStreamHeader, int suite,
            long sourcePolicySerial, long destinationPolicySerial, byte[] hello, byte[] replyCore) {
        if (sourceStreamHeader.length != STREAM_HEADER_LENGTH
                || destinationStreamHeader.length != STREAM_HEADER_LENGTH) {
            throw new IllegalArgumentException("stream headers are 16 octets");
        }
        MessageDigest sha = sha256();
        sha.update(LABEL);
        sha.update(sourceStreamHeader);
        sha.update(destinationStreamHeader);
        sha.update(ByteBuffer.allocate(20).putInt(suite).putLong(sourcePolicySerial).putLong(destinationPolicySerial)
                .array());
        sha.update(ByteBuffer.allocate(4).putInt(hello.length).array());
        sha.update(hello);
        sha.update(ByteBuffer.allocate(4).putInt(replyCore.length).array());
        sha.update(replyCore);
        return sha.digest();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
