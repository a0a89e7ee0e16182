package org.sealift.protocol.token;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;
import org.sealift.protocol.handshake.MigrationId;
import org.sealift.protocol.handshake.Role;

/**
 * A signed commit token (READY, RELEASE, DONE, ABORT_BY_SOURCE, ABORT_BY_DESTINATION): an attestation-key signature
 * over
 *
 * <pre>
 *   ASCII("SMP1/" kind) ‖ role u8 ‖ transcript hash [32] ‖ migration id [16] ‖ manifest digest [32]
 * </pre>
 *
 * It names everything it commits to, so it verifies after restarts and away from the session: a file carried by hand
 * is as good as the control record. Encoding (152 octets, the control record plaintext) in
 * docs/protocol-handshake.md. Immutable; a parsed token is only well-formed, not verified: see {@link TokenVerifier}.
 */
public final class Token {

    public static final int FORMAT = 1;
    public static final int ENCODED_LENGTH = 152;
    public static final int HASH_LENGTH = 32;
    public static final int SIGNATURE_LENGTH = 64;
    /** The manifest digest of a token issued before any MANIFEST was sealed (only the ABORT kinds). */
    private static final byte[] NO_MANIFEST = new byte[HASH_LENGTH];

    private final TokenKind kind;
    private final MigrationId migrationId;
    private final byte[] transcriptHash;
    private final byte[] manifestDigest;
    private final byte[] signature;

    private Token(TokenKind kind, MigrationId migrationId, byte[] transcriptHash, byte[] manifestDigest,
            byte[] signature) {
        this.kind = kind;
        this.migrationId = migrationId;
        this.transcriptHash = transcriptHash;
        this.manifestDigest = manifestDigest;
        this.signature = signature;
    }

    /**
     * Signs a token with the hypervisor's attestation key.
     *
     * @param manifestDigest the MANIFEST digest (docs/protocol.md §6.2), or null for an ABORT before any MANIFEST
     */
    public static Token issue(TokenKind kind, MigrationId migrationId, byte[] transcriptHash, byte[] manifestDigest,
            AttestationSigner signer) throws ProtocolException {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(migrationId, "migrationId");
        Objects.requireNonNull(signer, "signer");
        byte[] th = requireHash("transcript hash", transcriptHash);
        byte[] md = manifestDigest == null ? NO_MANIFEST.clone() : requireHash("manifest digest", manifestDigest);
        if (!kind.allowsNoManifest() && Arrays.equals(md, NO_MANIFEST)) {
            throw new IllegalArgumentException(kind + " commits to a MANIFEST: a manifest digest is required");
        }
        byte[] sig = signer.sign(signedMessage(kind, th, migrationId, md));
        if (sig.length != SIGNATURE_LENGTH) {
            throw new ProtocolException(Reason.MALFORMED, "the attestation key produced a " + sig.length
                    + "-byte signature; Ed25519 signatures are 64 bytes");
        }
        return new Token(kind, migrationId, th, md, sig);
    }

    /** The exact bytes the attestation key signs. */
    static byte[] signedMessage(TokenKind kind, byte[] transcriptHash, MigrationId migrationId,
            byte[] manifestDigest) {
        byte[] label = kind.label();
        return ByteBuffer.allocate(label.length + 1 + HASH_LENGTH + MigrationId.LENGTH + HASH_LENGTH).put(label)
                .put((byte) kind.signer().wire()).put(transcriptHash).put(migrationId.bytes()).put(manifestDigest)
                .array();
    }

    public byte[] signedMessage() {
        return signedMessage(kind, transcriptHash, migrationId, manifestDigest);
    }

    /** True iff the signature verifies under {@code attestationKey}; nothing else is checked. */
    public boolean isSignedBy(PublicKey attestationKey) {
        return AttestationSigner.verify(attestationKey, signedMessage(), signature);
    }

    /** The 152-octet encoding (control record plaintext and the core of a token file). */
    public byte[] encode() {
        return ByteBuffer.allocate(ENCODED_LENGTH).put((byte) FORMAT).put((byte) kind.wire())
                .put((byte) kind.signer().wire()).put(new byte[5]).put(migrationId.bytes()).put(transcriptHash)
                .put(manifestDigest).put(signature).array();
    }

    /** Parses the encoding; MALFORMED for a wrong length, format, kind, role, reserved octets or digest. */
    public static Token decode(byte[] bytes) throws ProtocolException {
        if (bytes.length != ENCODED_LENGTH) {
            throw new ProtocolException(Reason.MALFORMED,
                    "a token is " + ENCODED_LENGTH + " octets, got " + bytes.length);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int format = b.get() & 0xff;
        if (format != FORMAT) {
            throw new ProtocolException(Reason.MALFORMED, "token format " + format
                    + " is not supported (this build reads format " + FORMAT + "); upgrade the verifier");
        }
        int kindWire = b.get() & 0xff;
        TokenKind kind = TokenKind.fromWire(kindWire);
        if (kind == null) {
            throw new ProtocolException(Reason.MALFORMED, "unknown token kind " + kindWire);
        }
        int roleWire = b.get() & 0xff;
        Role role = Role.fromWire(roleWire);
        if (role != kind.signer()) {
            throw new ProtocolException(Reason.MALFORMED, "a " + kind + " token is signed by the "
                    + kind.signer().name().toLowerCase() + ", but its role octet is " + roleWire);
        }
        for (int i = 0; i < 5; i++) {
            if (b.get() != 0) {
                throw new ProtocolException(Reason.MALFORMED, "token reserved octet " + (3 + i) + " is not zero");
            }
        }
        byte[] id = new byte[MigrationId.LENGTH];
        byte[] th = new byte[HASH_LENGTH];
        byte[] md = new byte[HASH_LENGTH];
        byte[] sig = new byte[SIGNATURE_LENGTH];
        b.get(id).get(th).get(md).get(sig);
        if (!kind.allowsNoManifest() && Arrays.equals(md, NO_MANIFEST)) {
            throw new ProtocolException(Reason.MALFORMED, kind + " token has no manifest digest");
        }
        return new Token(kind, MigrationId.of(id), th, md, sig);
    }

    /** What makes a token unique: one token of each kind per migration. */
    public record Id(TokenKind kind, MigrationId migrationId) {
        @Override
        public String toString() {
            return kind + " of migration " + migrationId;
        }
    }

    public Id id() {
        return new Id(kind, migrationId);
    }

    public TokenKind kind() {
        return kind;
    }

    public Role role() {
        return kind.signer();
    }

    public MigrationId migrationId() {
        return migrationId;
    }

    public byte[] transcriptHash() {
        return transcriptHash.clone();
    }

    /** The manifest digest; all zeros for an ABORT issued before a MANIFEST. */
    public byte[] manifestDigest() {
        return manifestDigest.clone();
    }

    public boolean hasManifest() {
        return !Arrays.equals(manifestDigest, NO_MANIFEST);
    }

    public byte[] signature() {
        return signature.clone();
    }

    /** Tokens are equal when their encodings are (Ed25519 is deterministic: same signer and content, same bytes). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Token && MessageDigest.isEqual(encode(), ((Token) o).encode());
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(signature);
    }

    @Override
    public String toString() {
        return kind + " token of migration " + migrationId + " (manifest "
                + (hasManifest() ? HexFormat.of().formatHex(manifestDigest, 0, 4) + "\u2026" : "none") + ")";
    }

    private static byte[] requireHash(String what, byte[] b) {
        Objects.requireNonNull(b, what);
        if (b.length != HASH_LENGTH) {
            throw new IllegalArgumentException(what + " must be 32 bytes, got " + b.length);
        }
        return b.clone();
    }
}
