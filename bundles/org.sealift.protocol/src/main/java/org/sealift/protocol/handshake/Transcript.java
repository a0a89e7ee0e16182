package org.sealift.protocol.handshake;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The SMP1 handshake transcript hash:
 *
 * <pre>
 *   TH = SHA-256( ASCII("SMP1/transcript")       15 bytes
 *               ‖ stream header version          u32
 *               ‖ suite                          u32
 *               ‖ source policy serial           u64
 *               ‖ destination policy serial      u64
 *               ‖ len(HELLO)       ‖ HELLO       u32 + exact body bytes
 *               ‖ len(REPLY_core)  ‖ REPLY_core) u32 + exact body bytes of HELLO_REPLY before the signature )
 * </pre>
 *
 * All integers big-endian. Each side puts in its own view: the source the stream version it wrote and the suite it
 * offered, the destination the stream version it read and the suite it accepted. Both sign TH, so a downgrade
 * or a withheld policy update anywhere on the path breaks the signatures. TH keys the session, both signatures,
 * both MACs and the commit tokens.
 */
public final class Transcript {

    static final byte[] LABEL = "SMP1/transcript".getBytes(StandardCharsets.US_ASCII);

    private Transcript() {
    }

    public static byte[] hash(int streamVersion, int suite, long sourcePolicySerial, long destinationPolicySerial,
            byte[] hello, byte[] replyCore) {
        MessageDigest sha = sha256();
        sha.update(LABEL);
        sha.update(ByteBuffer.allocate(24).putInt(streamVersion).putInt(suite).putLong(sourcePolicySerial)
                .putLong(destinationPolicySerial).array());
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
