package org.sealift.protocol.handshake;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import javax.crypto.KeyAgreement;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Ephemeral X25519 (RFC 7748) through the JDK's "XDH" provider. On the wire a public key is its raw 32-byte
 * u-coordinate (little-endian, RFC 7748 §5); the JDK speaks X.509 SubjectPublicKeyInfo, whose encoding for X25519 is
 * a fixed 12-byte DER prefix followed by those 32 bytes (RFC 8410), so conversion is a prefix, not a parser.
 */
final class X25519 {

    static final int KEY_LENGTH = 32;

    /** DER of SubjectPublicKeyInfo{ AlgorithmIdentifier{ id-X25519 (1.3.101.110) }, BIT STRING (33 bytes) }. */
    private static final byte[] SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00};
    /** DER of PKCS#8 PrivateKeyInfo{ v1, id-X25519, OCTET STRING{ OCTET STRING (32 bytes) } } (RFC 8410). */
    private static final byte[] PKCS8_PREFIX = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
        0x6e, 0x04, 0x22, 0x04, 0x20};

    private X25519() {
    }

    static KeyPair generate(SecureRandom random) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("XDH");
            g.initialize(NamedParameterSpec.X25519, random);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no X25519 (XDH), which Java 11+ always has", e);
        }
    }

    /** The raw 32-byte public key. */
    static byte[] encode(PublicKey key) {
        byte[] spki = key.getEncoded();
        if (spki.length != SPKI_PREFIX.length + KEY_LENGTH
                || !Arrays.equals(spki, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
            throw new IllegalArgumentException("not an X25519 public key: " + key.getAlgorithm());
        }
        return Arrays.copyOfRange(spki, SPKI_PREFIX.length, spki.length);
    }

    static PublicKey decodePublic(byte[] raw) throws ProtocolException {
        if (raw.length != KEY_LENGTH) {
            throw new ProtocolException(Reason.MALFORMED, "X25519 public key must be 32 bytes, got " + raw.length);
        }
        try {
            return KeyFactory.getInstance("XDH").generatePublic(new X509EncodedKeySpec(concat(SPKI_PREFIX, raw)));
        } catch (GeneralSecurityException e) {
            throw new ProtocolException(Reason.MALFORMED, "invalid X25519 public key: " + e.getMessage(), e);
        }
    }

    /** For known-answer tests only: an X25519 private key from its raw 32 bytes. */
    static PrivateKey decodePrivate(byte[] raw) throws GeneralSecurityException {
        byte[] pkcs8 = concat(PKCS8_PREFIX, raw);
        try {
            return KeyFactory.getInstance("XDH").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } finally {
            Zeroize.all(pkcs8);
        }
    }

    /**
     * X25519(own, peer). A peer key of small order yields the all-zero secret, which would make the session keys
     * depend on nothing secret (RFC 7748 §6.1): refused.
     */
    static byte[] agree(PrivateKey own, byte[] peerRaw) throws ProtocolException {
        PublicKey peer = decodePublic(peerRaw);
        byte[] secret;
        try {
            KeyAgreement ka = KeyAgreement.getInstance("XDH");
            ka.init(own);
            ka.doPhase(peer, true);
            secret = ka.generateSecret();
        } catch (GeneralSecurityException e) {
            // the JDK refuses small-order points itself ("Point has small order")
            throw new ProtocolException(Reason.MALFORMED,
                    "peer's ephemeral X25519 key is unusable (" + e.getMessage() + "): the handshake message was "
                            + "forged or corrupted", e);
        }
        int acc = 0;
        for (byte b : secret) {
            acc |= b;
        }
        if (acc == 0) {
            throw new ProtocolException(Reason.MALFORMED,
                    "peer's ephemeral X25519 key has small order (all-zero shared secret): the handshake message was "
                            + "forged");
        }
        return secret;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
