package org.sealift.protocol.pki;

import java.util.Arrays;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * A fence: the cluster's signed statement that a host is lost for good, letting the surviving side of one migration
 * act without the lost peer (run the verified copy, or release a paused source). It is a trusted override outside the
 * single-instance guarantee (G5), so it is bound to exactly one (migration id, manifest digest, lost host's AK) and
 * always comes with a policy that revokes that AK ({@link FenceBundle}).
 *
 * <p>Signature: Ed25519 with the CA policy key over {@code "SMP1/FENCE" ‖ migration id (16) ‖ manifest digest (32) ‖
 * lost AK fingerprint (32)}. Encoding: that message followed by the 64-byte signature (154 bytes).
 */
public final class Fence {

    static final byte[] CONTEXT = CanonicalWriter.ascii("SMP1/FENCE");
    public static final int MIGRATION_ID_BYTES = 16;
    public static final int DIGEST_BYTES = 32;
    public static final int ENCODED_BYTES = 10 + MIGRATION_ID_BYTES + DIGEST_BYTES + Certificates.FINGERPRINT_BYTES
            + SignedPolicy.SIGNATURE_BYTES;

    private final byte[] migrationId;
    private final byte[] manifestDigest;
    private final byte[] lostAkFingerprint;
    private final byte[] signature;

    private Fence(byte[] migrationId, byte[] manifestDigest, byte[] lostAkFingerprint, byte[] signature) {
        this.migrationId = migrationId.clone();
        this.manifestDigest = manifestDigest.clone();
        this.lostAkFingerprint = lostAkFingerprint.clone();
        this.signature = signature.clone();
    }

    static Fence unsigned(byte[] migrationId, byte[] manifestDigest, byte[] lostAkFingerprint) {
        requireLength(migrationId, MIGRATION_ID_BYTES, "migration id");
        requireLength(manifestDigest, DIGEST_BYTES, "manifest digest");
        requireLength(lostAkFingerprint, Certificates.FINGERPRINT_BYTES, "lost AK fingerprint");
        return new Fence(migrationId, manifestDigest, lostAkFingerprint, new byte[0]);
    }

    Fence withSignature(byte[] sig) {
        return new Fence(migrationId, manifestDigest, lostAkFingerprint, sig);
    }

    private static void requireLength(byte[] b, int n, String what) {
        if (b.length != n) {
            throw new IllegalArgumentException(what + " must be " + n + " bytes, got " + b.length);
        }
    }

    /** The exact bytes the policy key signs. */
    public byte[] signedMessage() {
        return new CanonicalWriter().raw(CONTEXT).fixed(migrationId, MIGRATION_ID_BYTES)
                .fixed(manifestDigest, DIGEST_BYTES).fixed(lostAkFingerprint, Certificates.FINGERPRINT_BYTES)
                .toByteArray();
    }

    public byte[] migrationId() {
        return migrationId.clone();
    }

    public byte[] manifestDigest() {
        return manifestDigest.clone();
    }

    public byte[] lostAkFingerprint() {
        return lostAkFingerprint.clone();
    }

    /** TAMPERED unless signed by the cluster's policy key. */
    public void verify(ClusterTrust trust) throws ProtocolException {
        if (!Ed25519.verify(trust.policyKey(), signedMessage(), signature)) {
            throw new ProtocolException(Reason.TAMPERED, "fence for migration " + Hex.encode(migrationId)
                    + " is not signed by the policy key of cluster CA " + trust.describe());
        }
    }

    /**
     * Verifies the signature and that the fence is for exactly this migration, manifest and lost AK; POLICY naming the
     * field that differs otherwise.
     */
    public void verifyFor(ClusterTrust trust, byte[] expectedMigrationId, byte[] expectedManifestDigest,
            byte[] expectedLostAk) throws ProtocolException {
        verify(trust);
        if (!Arrays.equals(migrationId, expectedMigrationId)) {
            throw new ProtocolException(Reason.POLICY, "fence is for migration " + Hex.encode(migrationId)
                    + ", not migration " + Hex.encode(expectedMigrationId) + "; a fence applies to one migration only");
        }
        if (!Arrays.equals(manifestDigest, expectedManifestDigest)) {
            throw new ProtocolException(Reason.POLICY, "fence for migration " + Hex.encode(migrationId)
                    + " names manifest digest " + Hex.abbrev(manifestDigest) + ", but this copy's manifest digest is "
                    + Hex.abbrev(expectedManifestDigest) + "; the fence does not cover this copy");
        }
        if (!Arrays.equals(lostAkFingerprint, expectedLostAk)) {
            throw new ProtocolException(Reason.POLICY, "fence for migration " + Hex.encode(migrationId)
                    + " declares AK " + Hex.abbrev(lostAkFingerprint) + " lost, but the peer of this migration has AK "
                    + Hex.abbrev(expectedLostAk));
        }
    }

    public byte[] encoded() {
        return new CanonicalWriter().raw(signedMessage()).fixed(signature, SignedPolicy.SIGNATURE_BYTES).toByteArray();
    }

    /** Parses untrusted bytes (MALFORMED on any format error); does not verify. */
    public static Fence parse(byte[] bytes) throws ProtocolException {
        CanonicalReader r = new CanonicalReader(bytes, "fence");
        r.expect(CONTEXT, "magic");
        byte[] mid = r.fixed(MIGRATION_ID_BYTES, "migration id");
        byte[] digest = r.fixed(DIGEST_BYTES, "manifest digest");
        byte[] fp = r.fixed(Certificates.FINGERPRINT_BYTES, "lost AK fingerprint");
        byte[] sig = r.fixed(SignedPolicy.SIGNATURE_BYTES, "signature");
        r.expectEnd();
        return new Fence(mid, digest, fp, sig);
    }
}
