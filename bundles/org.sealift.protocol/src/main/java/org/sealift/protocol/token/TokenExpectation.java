package org.sealift.protocol.token;

import java.util.Objects;
import org.sealift.protocol.handshake.HandshakeResult;
import org.sealift.protocol.handshake.MigrationId;

/**
 * What the receiver of a token knows independently of it: which kind it waits for, its own migration id and
 * transcript hash, the manifest digest it verified or sent, and whose AK must have signed. A token is accepted only
 * if it names exactly these.
 *
 * @param kind the kind expected now
 * @param migrationId this migration
 * @param transcriptHash this migration's handshake transcript hash
 * @param manifestDigest the MANIFEST digest; null = any, allowed only for the ABORT kinds (an abort ends the
 *        migration whichever MANIFEST the aborting side had sealed, even one dom0 dropped)
 * @param signerAkFingerprint the AK fingerprint the signer must have; null = any attested host
 */
public record TokenExpectation(TokenKind kind, MigrationId migrationId, byte[] transcriptHash, byte[] manifestDigest,
        byte[] signerAkFingerprint) {

    public TokenExpectation {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(transcriptHash, "transcriptHash");
        if (manifestDigest == null && !kind.allowsNoManifest()) {
            throw new IllegalArgumentException(kind + " commits to a MANIFEST: the expected digest is required");
        }
        transcriptHash = transcriptHash.clone();
        manifestDigest = manifestDigest == null ? null : manifestDigest.clone();
        signerAkFingerprint = signerAkFingerprint == null ? null : signerAkFingerprint.clone();
    }

    /** Within a session: the peer of {@code session} must have signed a {@code kind} for this migration. */
    public static TokenExpectation fromPeer(HandshakeResult session, TokenKind kind, byte[] manifestDigest) {
        return new TokenExpectation(kind, session.migrationId(), session.transcriptHash(), manifestDigest,
                session.peer().akFingerprint());
    }

    @Override
    public byte[] transcriptHash() {
        return transcriptHash.clone();
    }

    @Override
    public byte[] manifestDigest() {
        return manifestDigest == null ? null : manifestDigest.clone();
    }

    @Override
    public byte[] signerAkFingerprint() {
        return signerAkFingerprint == null ? null : signerAkFingerprint.clone();
    }
}
