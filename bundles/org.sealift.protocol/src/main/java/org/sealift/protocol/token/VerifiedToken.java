package org.sealift.protocol.token;

import java.util.Objects;
import org.sealift.protocol.pki.AttestedIdentity;

/**
 * A token whose signature verified under the AK of {@code signer}, an attested hypervisor. Only {@link TokenVerifier}
 * makes these.
 */
public final class VerifiedToken {

    private final Token token;
    private final AttestedIdentity signer;

    VerifiedToken(Token token, AttestedIdentity signer) {
        this.token = Objects.requireNonNull(token);
        this.signer = Objects.requireNonNull(signer);
    }

    public Token token() {
        return token;
    }

    public AttestedIdentity signer() {
        return signer;
    }

    @Override
    public String toString() {
        return token + ", signed by " + signer;
    }
}
