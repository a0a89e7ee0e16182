package org.sealift.protocol.pki;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * A policy with the CA policy key's signature: {@code u32 body length ‖ body (Policy canonical bytes) ‖ 64-byte
 * Ed25519 signature over the body}. The body starts with "SMP1/POLICY", so a policy signature can never be taken for
 * a fence signature ("SMP1/FENCE") or the other way round. File form: PEM block "SEALIFT POLICY".
 */
public final class SignedPolicy {

    public static final String PEM_TYPE = "SEALIFT POLICY";
    public static final int SIGNATURE_BYTES = 64;
    /** A policy with every table at its limit stays well below this. */
    public static final int MAX_BODY_BYTES = 4 * 1024 * 1024;

    private final byte[] body;
    private final byte[] signature;
    private final Policy unverified;

    private SignedPolicy(byte[] body, byte[] signature, Policy policy) {
        this.body = body;
        this.signature = signature;
        this.unverified = policy;
    }

    /** Used by {@link ClusterCa}; the private key is the CA's policy key. */
    static SignedPolicy sign(Policy policy, java.security.PrivateKey policyKey) {
        byte[] body = policy.toCanonicalBytes();
        return new SignedPolicy(body, Ed25519.sign(policyKey, body), policy);
    }

    /**
     * Checks the signature with the cluster's policy key and returns the policy. It does not check time or serial:
     * {@link PolicyStore#accept} does.
     */
    public Policy verify(ClusterTrust trust) throws ProtocolException {
        if (!Ed25519.verify(trust.policyKey(), body, signature)) {
            throw new ProtocolException(Reason.TAMPERED, unverified.describe()
                    + " is not signed by the policy key of cluster CA " + trust.describe()
                    + " (changed after signing, or signed by another cluster)");
        }
        return unverified;
    }

    /** The policy as claimed, before any signature check: for display only. */
    public Policy unverifiedPolicy() {
        return unverified;
    }

    public byte[] encoded() {
        return new CanonicalWriter().blob(body).fixed(signature, SIGNATURE_BYTES).toByteArray();
    }

    /** Parses untrusted bytes; MALFORMED on any format error. Fuzz entry point. */
    public static SignedPolicy parse(byte[] bytes) throws ProtocolException {
        CanonicalReader r = new CanonicalReader(bytes, "signed policy");
        byte[] body = r.blob(MAX_BODY_BYTES, "policy body");
        byte[] sig = r.fixed(SIGNATURE_BYTES, "policy signature");
        r.expectEnd();
        Policy policy = Policy.fromCanonicalBytes(body);
        if (!java.util.Arrays.equals(policy.toCanonicalBytes(), body)) {
            throw new ProtocolException(Reason.MALFORMED, "policy bytes are not in canonical form");
        }
        return new SignedPolicy(body, sig, policy);
    }

    public String toPem() {
        return Pem.encode(PEM_TYPE, encoded());
    }

    public static SignedPolicy fromPem(String text) throws ProtocolException {
        try {
            List<Pem.Block> blocks = Pem.decode(text);
            for (Pem.Block b : blocks) {
                if (PEM_TYPE.equals(b.type())) {
                    return parse(b.content());
                }
            }
        } catch (IOException e) {
            throw new ProtocolException(Reason.MALFORMED, "policy file: " + e.getMessage(), e);
        }
        throw new ProtocolException(Reason.MALFORMED, "no \"" + PEM_TYPE + "\" PEM block found");
    }

    public void save(Path file) throws IOException {
        Pem.write(file, List.of(new Pem.Block(PEM_TYPE, encoded())));
    }

    public static SignedPolicy load(Path file) throws IOException, ProtocolException {
        return fromPem(Files.readString(file, StandardCharsets.US_ASCII));
    }
}
