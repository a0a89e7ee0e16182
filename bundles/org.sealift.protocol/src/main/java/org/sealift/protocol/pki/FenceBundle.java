package org.sealift.protocol.pki;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * A fence and the policy issued with it (next serial, the lost AK revoked). File form: a comment that says what a
 * fence is, then PEM blocks "SEALIFT FENCE" and "SEALIFT POLICY"; verifiable offline with the cluster trust file.
 */
public final class FenceBundle {

    public static final String FENCE_PEM_TYPE = "SEALIFT FENCE";

    private final Fence fence;
    private final SignedPolicy policy;

    public FenceBundle(Fence fence, SignedPolicy policy) {
        this.fence = fence;
        this.policy = policy;
    }

    public Fence fence() {
        return fence;
    }

    public SignedPolicy policy() {
        return policy;
    }

    /**
     * Checks both signatures and that the policy revokes the fenced AK; returns that policy (still to be accepted by
     * the {@link PolicyStore}, which applies the serial rule).
     */
    public Policy verify(ClusterTrust trust) throws ProtocolException {
        fence.verify(trust);
        Policy p = policy.verify(trust);
        if (!p.isRevoked(fence.lostAkFingerprint())) {
            throw new ProtocolException(Reason.POLICY, "the " + p.describe() + " that came with the fence for migration "
                    + Hex.encode(fence.migrationId()) + " does not revoke the fenced AK "
                    + Hex.abbrev(fence.lostAkFingerprint()) + "; a fence is valid only with a policy revoking that AK");
        }
        return p;
    }

    public String toPem() {
        String comment = "# Sealift fence: a TRUSTED OVERRIDE outside the single-instance guarantee.\n"
                + "# It lets the surviving host of migration " + Hex.encode(fence.migrationId()) + " act without\n"
                + "# its lost peer (AK " + Hex.encode(fence.lostAkFingerprint()) + "), whose AK the policy below"
                + " revokes.\n";
        return comment + Pem.encode(List.of(new Pem.Block(FENCE_PEM_TYPE, fence.encoded()),
                new Pem.Block(SignedPolicy.PEM_TYPE, policy.encoded())));
    }

    public static FenceBundle fromPem(String text) throws ProtocolException {
        Fence f = null;
        SignedPolicy p = null;
        try {
            for (Pem.Block b : Pem.decode(text)) {
                if (FENCE_PEM_TYPE.equals(b.type()) && f == null) {
                    f = Fence.parse(b.content());
                } else if (SignedPolicy.PEM_TYPE.equals(b.type()) && p == null) {
                    p = SignedPolicy.parse(b.content());
                } else {
                    throw new ProtocolException(Reason.MALFORMED, "fence file holds an unexpected or repeated PEM block \""
                            + b.type() + "\"");
                }
            }
        } catch (IOException e) {
            throw new ProtocolException(Reason.MALFORMED, "fence file: " + e.getMessage(), e);
        }
        if (f == null || p == null) {
            throw new ProtocolException(Reason.MALFORMED, "fence file must hold one \"" + FENCE_PEM_TYPE
                    + "\" and one \"" + SignedPolicy.PEM_TYPE + "\" block");
        }
        return new FenceBundle(f, p);
    }

    public void save(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, toPem(), StandardCharsets.US_ASCII);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    public static FenceBundle load(Path file) throws IOException, ProtocolException {
        return fromPem(Files.readString(file, StandardCharsets.US_ASCII));
    }
}
