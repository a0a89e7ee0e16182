package org.sealift.protocol.handshake;

import java.util.Objects;

/**
 * A cipher suite: its 32-bit wire id (in HELLO and HELLO_REPLY) and its name (as listed in the cluster policy's
 * allowed suites). Never reuse an id or rename a suite.
 *
 * @param id   wire value
 * @param name policy name, 1–64 of {@code [A-Za-z0-9_.+/-]}
 */
public record Suite(int id, String name) {

    /**
     * X25519 key agreement, Ed25519 attestation keys, HKDF-SHA256 key schedule, HMAC-SHA256 key confirmation,
     * AES-256-GCM for control records and sealing. The only suite of SMP version 1.
     */
    public static final Suite SMP1_X25519_ED25519_AES256GCM_SHA256 =
            new Suite(0x0000_0001, "SMP1-X25519-ED25519-AES256GCM-SHA256");

    public Suite {
        Objects.requireNonNull(name, "name");
    }

    @Override
    public String toString() {
        return name + String.format(" (0x%08x)", id);
    }
}
