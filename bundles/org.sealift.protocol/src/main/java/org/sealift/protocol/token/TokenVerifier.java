package org.sealift.protocol.token;

import java.security.MessageDigest;
import java.time.Instant;
import java.util.Objects;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.pki.AkValidator;
import org.sealift.protocol.pki.AttestedIdentity;
import org.sealift.protocol.pki.Hex;
import org.sealift.protocol.pki.PolicyStore;

/**
 * Verifies commit tokens, online (in a session, against the peer's identity from the handshake) or offline (a token
 * file whose signer chain is validated by pki against the cluster CA and the policy). Checks are specific so the
 * caller can record why a token was refused:
 *
 * <ul>
 * <li>another kind than expected → UNEXPECTED_RECORD;</li>
 * <li>another migration or another handshake transcript → REPLAY;</li>
 * <li>another manifest digest → MANIFEST_MISMATCH;</li>
 * <li>signed by another host than expected → UNATTESTED;</li>
 * <li>signature does not verify under the signer's AK → TAMPERED.</li>
 * </ul>
 */
public final class TokenVerifier {

    private TokenVerifier() {
    }

    /**
     * A token received from {@code signer} (the attested peer of the session, or a signer validated by pki): checks
     * {@code expected}, then the signature.
     */
    public static VerifiedToken verify(Token token, AttestedIdentity signer, TokenExpectation expected)
            throws ProtocolException {
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(signer, "signer");
        Objects.requireNonNull(expected, "expected");
        if (token.kind() != expected.kind()) {
            throw new ProtocolException(Reason.UNEXPECTED_RECORD, "a " + token.kind() + " token was presented where "
                    + expected.kind() + " is expected");
        }
        if (!token.migrationId().equals(expected.migrationId())) {
            throw new ProtocolException(Reason.REPLAY, token.kind() + " token is for migration "
                    + token.migrationId() + ", not " + expected.migrationId() + ": a token from another migration");
        }
        if (!MessageDigest.isEqual(token.transcriptHash(), expected.transcriptHash())) {
            throw new ProtocolException(Reason.REPLAY, token.kind() + " token of migration " + token.migrationId()
                    + " names transcript " + Hex.abbrev(token.transcriptHash()) + ", this session's is "
                    + Hex.abbrev(expected.transcriptHash()) + ": a token from another handshake");
        }
        byte[] md = expected.manifestDigest();
        if (md != null && !MessageDigest.isEqual(token.manifestDigest(), md)) {
            throw new ProtocolException(Reason.MANIFEST_MISMATCH, token.kind() + " token of migration "
                    + token.migrationId() + " commits to manifest "
                    + (token.hasManifest() ? Hex.abbrev(token.manifestDigest()) : "none") + ", expected "
                    + Hex.abbrev(md));
        }
        byte[] fp = expected.signerAkFingerprint();
        if (fp != null && !MessageDigest.isEqual(signer.akFingerprint(), fp)) {
            throw new ProtocolException(Reason.UNATTESTED, token.kind() + " token of migration "
                    + token.migrationId() + " comes from host " + signer.hostId() + " (AK "
                    + Hex.abbrev(signer.akFingerprint()) + "), but only the AK " + Hex.abbrev(fp)
                    + " of this migration's " + token.role().name().toLowerCase() + " may sign it");
        }
        return checkSignature(token, signer);
    }

    /**
     * A token file on its own (imported by hand, or checked by an auditor): validates the signer chain in the file
     * with pki (cluster CA, certificate validity at {@code at}, AK role, measurement and revocation per the current
     * policy of {@code policies}) and the signature. Says who signed what; compare with what you expect using
     * {@link #verify(TokenFile, AkValidator, PolicyStore, Instant, TokenExpectation)}.
     *
     * @param at the time the signer's certificate must be valid at: now, or for an archived token the time of the
     *        migration
     */
    public static VerifiedToken verify(TokenFile file, AkValidator validator, PolicyStore policies, Instant at)
            throws ProtocolException {
        AttestedIdentity signer = validator.validate(file.signerChain(), policies, at);
        return checkSignature(file.token(), signer);
    }

    /** As {@link #verify(TokenFile, AkValidator, PolicyStore, Instant)}, then checks {@code expected}. */
    public static VerifiedToken verify(TokenFile file, AkValidator validator, PolicyStore policies, Instant at,
            TokenExpectation expected) throws ProtocolException {
        AttestedIdentity signer = validator.validate(file.signerChain(), policies, at);
        return verify(file.token(), signer, expected);
    }

    private static VerifiedToken checkSignature(Token token, AttestedIdentity signer) throws ProtocolException {
        signer.requireSignature(token.signedMessage(), token.signature(), token.kind() + " token of migration "
                + token.migrationId());
        return new VerifiedToken(token, signer);
    }
}
