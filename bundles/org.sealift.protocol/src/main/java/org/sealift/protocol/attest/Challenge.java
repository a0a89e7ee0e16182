package org.sealift.protocol.attest;

import org.sealift.protocol.pki.Hex;

/**
 * A verifier's fresh nonce for one log verification: the hypervisor signs its head with it, so a head cannot be
 * recorded once and replayed later. Issued by {@link LogVerifier#challenge()} and usable once.
 */
public final class Challenge {

    private final byte[] nonce;
    private final LogVerifier issuer;

    Challenge(byte[] nonce, LogVerifier issuer) {
        this.nonce = nonce.clone();
        this.issuer = issuer;
    }

    /** The 32 bytes to send to the hypervisor. */
    public byte[] nonce() {
        return nonce.clone();
    }

    LogVerifier issuer() {
        return issuer;
    }

    String hex() {
        return Hex.encode(nonce);
    }

    @Override
    public String toString() {
        return "challenge " + Hex.abbrev(nonce);
    }
}
