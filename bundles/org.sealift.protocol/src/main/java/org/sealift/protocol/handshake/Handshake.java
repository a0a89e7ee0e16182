package org.sealift.protocol.handshake;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.pki.AttestedIdentity;
import org.sealift.protocol.wire.StreamHeader;

/** What Initiator and Responder share: signature and MAC inputs (docs/protocol-handshake.md §4) and checks. */
final class Handshake {

    static final byte[] LABEL_REPLY = "SMP1/hs-reply".getBytes(StandardCharsets.US_ASCII);
    static final byte[] LABEL_FINISH = "SMP1/hs-finish".getBytes(StandardCharsets.US_ASCII);

    private Handshake() {
    }

    /** label ‖ TH ‖ measurement of the signer. */
    static byte[] signedMessage(byte[] label, byte[] transcriptHash, byte[] measurement) {
        return ByteBuffer.allocate(label.length + transcriptHash.length + measurement.length).put(label)
                .put(transcriptHash).put(measurement).array();
    }

    /** HMAC-SHA256(key, TH). The key array is cleared by the caller. */
    static byte[] mac(byte[] key, byte[] transcriptHash) {
        SessionKey k = new SessionKey("HmacSHA256", key.clone());
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(k);
            return mac.doFinal(transcriptHash);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java platform has HmacSHA256", e);
        } finally {
            k.destroy();
        }
    }

    static void requireMac(byte[] key, byte[] transcriptHash, byte[] received, String message, AttestedIdentity peer)
            throws ProtocolException {
        byte[] expected = mac(key, transcriptHash);
        if (!MessageDigest.isEqual(expected, received)) {
            throw new ProtocolException(Reason.TAMPERED, message + " key-confirmation MAC from host " + peer.hostId()
                    + " does not verify: the peer did not derive the same keys (message altered in transit, or a"
                    + " man in the middle)");
        }
    }

    static void requireSecure(StreamHeader header, String direction) throws ProtocolException {
        if (!header.secure()) {
            throw new ProtocolException(Reason.DOWNGRADE, "the " + direction + " stream header asks for plain mode,"
                    + " but a handshake only runs in secure mode: the header was rewritten to drop protection");
        }
    }
}
