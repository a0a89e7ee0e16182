package org.sealift.protocol.handshake;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * SMP1 key schedule: HKDF-SHA256 (RFC 5869) over the X25519 shared secret.
 *
 * <pre>
 *   PRK      = HKDF-Extract(salt = nonce_S ‖ nonce_D, IKM = X25519 shared secret)
 *   key(lbl) = HKDF-Expand(PRK, info = ASCII(lbl) ‖ transcript hash, L = 32)
 * </pre>
 *
 * One PRK, one expansion per label; the labels (constants below) are distinct ASCII strings and the transcript hash
 * has a fixed length of 32 bytes, so every info string is unambiguous. Key-confirmation MAC keys have their own
 * labels and are never used for records.
 *
 * <p>HKDF comes from BouncyCastle ({@link HKDFBytesGenerator}): Java 17, which the library targets, has no HKDF in
 * the JDK (javax.crypto.KDF arrived in Java 24), and the design keeps BC for what the JDK lacks. Speed does not
 * matter here (five 32-byte outputs per migration); a reviewed implementation does. The primitive is pinned by the
 * RFC 5869 test vectors in the tests.
 */
public final class KeySchedule implements AutoCloseable {

    /** Key for control records sent by the source (AES-256-GCM). */
    public static final String LABEL_CONTROL_SOURCE_TO_DESTINATION = "SMP1/key/control/s2d";
    /** Key for control records sent by the destination (AES-256-GCM). */
    public static final String LABEL_CONTROL_DESTINATION_TO_SOURCE = "SMP1/key/control/d2s";
    /** Key for SEALED pages and vCPU contexts, source to destination (AES-256-GCM). */
    public static final String LABEL_SEALING = "SMP1/key/seal/s2d";
    /** HMAC-SHA256 key of the destination's key-confirmation MAC in HELLO_REPLY. */
    public static final String LABEL_CONFIRM_DESTINATION = "SMP1/key/confirm/d";
    /** HMAC-SHA256 key of the source's key-confirmation MAC in FINISH. */
    public static final String LABEL_CONFIRM_SOURCE = "SMP1/key/confirm/s";

    /** Length of every derived key, nonce and the transcript hash. */
    public static final int KEY_LENGTH = 32;

    private final byte[] prk;
    private final byte[] transcriptHash;
    private boolean closed;

    private KeySchedule(byte[] prk, byte[] transcriptHash) {
        this.prk = prk;
        this.transcriptHash = transcriptHash;
    }

    /**
     * Runs HKDF-Extract. The caller keeps ownership of (and should clear) {@code sharedSecret}.
     *
     * @param sharedSecret the X25519 output (32 bytes)
     * @param nonceSource nonce_S from HELLO (32 bytes)
     * @param nonceDestination nonce_D from HELLO_REPLY (32 bytes)
     * @param transcriptHash the handshake transcript hash (32 bytes, see {@link Transcript})
     */
    public static KeySchedule extract(byte[] sharedSecret, byte[] nonceSource, byte[] nonceDestination,
            byte[] transcriptHash) {
        requireLength("shared secret", sharedSecret, KEY_LENGTH);
        requireLength("nonce_S", nonceSource, KEY_LENGTH);
        requireLength("nonce_D", nonceDestination, KEY_LENGTH);
        requireLength("transcript hash", transcriptHash, KEY_LENGTH);
        byte[] salt = new byte[2 * KEY_LENGTH];
        System.arraycopy(nonceSource, 0, salt, 0, KEY_LENGTH);
        System.arraycopy(nonceDestination, 0, salt, KEY_LENGTH, KEY_LENGTH);
        byte[] prk = hkdfExtract(salt, sharedSecret);
        return new KeySchedule(prk, transcriptHash.clone());
    }

    /** HKDF-Expand for {@code label}: 32 bytes that the caller owns and must clear. */
    public byte[] expand(String label) {
        if (closed) {
            throw new IllegalStateException("key schedule already closed; derive all keys before closing it");
        }
        byte[] l = Objects.requireNonNull(label, "label").getBytes(StandardCharsets.US_ASCII);
        byte[] info = new byte[l.length + transcriptHash.length];
        System.arraycopy(l, 0, info, 0, l.length);
        System.arraycopy(transcriptHash, 0, info, l.length, transcriptHash.length);
        return hkdfExpand(prk, info, KEY_LENGTH);
    }

    /** The three record keys of a session. */
    public SessionKeys sessionKeys() {
        return new SessionKeys(
                new SessionKey("AES", expand(LABEL_CONTROL_SOURCE_TO_DESTINATION)),
                new SessionKey("AES", expand(LABEL_CONTROL_DESTINATION_TO_SOURCE)),
                new SessionKey("AES", expand(LABEL_SEALING)));
    }

    /** The key-confirmation MAC key of {@code sender}; the caller owns and must clear it. */
    byte[] confirmationKey(Role sender) {
        return expand(sender == Role.DESTINATION ? LABEL_CONFIRM_DESTINATION : LABEL_CONFIRM_SOURCE);
    }

    /** Clears the PRK. */
    @Override
    public void close() {
        Zeroize.all(prk);
        closed = true;
    }

    /** RFC 5869 HKDF-Extract with SHA-256. */
    static byte[] hkdfExtract(byte[] salt, byte[] ikm) {
        return new HKDFBytesGenerator(new SHA256Digest()).extractPRK(salt, ikm);
    }

    /** RFC 5869 HKDF-Expand with SHA-256. */
    static byte[] hkdfExpand(byte[] prk, byte[] info, int length) {
        HKDFBytesGenerator g = new HKDFBytesGenerator(new SHA256Digest());
        g.init(HKDFParameters.skipExtractParameters(prk, info));
        byte[] out = new byte[length];
        g.generateBytes(out, 0, length);
        return out;
    }

    private static void requireLength(String what, byte[] b, int length) {
        Objects.requireNonNull(b, what);
        if (b.length != length) {
            throw new IllegalArgumentException(what + " must be " + length + " bytes, got " + b.length);
        }
    }
}
