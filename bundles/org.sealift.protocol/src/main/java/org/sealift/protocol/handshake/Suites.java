package org.sealift.protocol.handshake;

/**
 * Protocol versions and cipher suites known to this implementation. Numbers are wire values; never reuse one.
 */
public final class Suites {

    /** SMP version 1 (the value in the stream header and in HELLO). */
    public static final int VERSION_1 = 1;

    /**
     * X25519 key agreement, Ed25519 attestation keys, HKDF-SHA256 key schedule, HMAC-SHA256 key confirmation,
     * AES-256-GCM for control records and sealing.
     */
    public static final int X25519_ED25519_HKDF_SHA256_AES256_GCM = 0x0000_0001;

    /** What this implementation runs when nothing else is said. */
    public static final int DEFAULT_VERSION = VERSION_1;
    public static final int DEFAULT_SUITE = X25519_ED25519_HKDF_SHA256_AES256_GCM;

    private Suites() {
    }

    /** For messages: "suite 0x00000001". */
    public static String describeSuite(int suite) {
        return String.format("suite 0x%08x", suite);
    }
}
