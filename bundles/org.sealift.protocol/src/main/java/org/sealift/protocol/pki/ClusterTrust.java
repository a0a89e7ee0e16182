package org.sealift.protocol.pki;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * What every verifier trusts: the cluster CA certificate (which signs AK, TLS and operator certificates) and the
 * policy-signing certificate (a separate key, certified by the CA, which signs policies and fences). Distributed as
 * one PEM file ({@link #TRUST_FILE}); it holds no private key.
 */
public final class ClusterTrust {

    public static final String TRUST_FILE = "cluster-trust.pem";

    private final X509Certificate ca;
    private final X509Certificate policySigner;

    private ClusterTrust(X509Certificate ca, X509Certificate policySigner) {
        this.ca = ca;
        this.policySigner = policySigner;
    }

    /** Checks that the CA is a self-signed cluster CA and that the policy signer is certified by it. */
    public static ClusterTrust of(X509Certificate ca, X509Certificate policySigner) throws ProtocolException {
        Objects.requireNonNull(ca, "ca");
        Objects.requireNonNull(policySigner, "policySigner");
        if (Certificates.role(ca).orElse(null) != Role.CLUSTER_CA) {
            throw new ProtocolException(Reason.CERTIFICATE, "certificate " + Certificates.describe(ca)
                    + " is not a cluster CA certificate");
        }
        if (!Chains.signedBy(ca, ca)) {
            throw new ProtocolException(Reason.CERTIFICATE, "cluster CA certificate " + Certificates.describe(ca)
                    + " is not self-signed");
        }
        if (Certificates.role(policySigner).orElse(null) != Role.POLICY_SIGNER) {
            throw new ProtocolException(Reason.CERTIFICATE, "certificate " + Certificates.describe(policySigner)
                    + " is not a policy-signing certificate");
        }
        if (!Chains.signedBy(policySigner, ca)) {
            throw new ProtocolException(Reason.CERTIFICATE, "policy-signing certificate "
                    + Certificates.describe(policySigner) + " is not issued by cluster CA " + Certificates.describe(ca));
        }
        if (!Ed25519.isEd25519(policySigner.getPublicKey())) {
            throw new ProtocolException(Reason.CERTIFICATE, "policy-signing key is not Ed25519");
        }
        return new ClusterTrust(ca, policySigner);
    }

    public X509Certificate caCertificate() {
        return ca;
    }

    public X509Certificate policySignerCertificate() {
        return policySigner;
    }

    public PublicKey policyKey() {
        return policySigner.getPublicKey();
    }

    /** "CN=prod-cluster" for messages. */
    public String describe() {
        return Certificates.describe(ca);
    }

    public String toPem() {
        return Certificates.toPem(List.of(ca, policySigner));
    }

    public static ClusterTrust fromPem(String text) throws IOException, ProtocolException {
        List<X509Certificate> certs = Certificates.fromPem(text);
        X509Certificate ca = null;
        X509Certificate ps = null;
        for (X509Certificate c : certs) {
            Role r = Certificates.role(c).orElse(null);
            if (r == Role.CLUSTER_CA && ca == null) {
                ca = c;
            } else if (r == Role.POLICY_SIGNER && ps == null) {
                ps = c;
            } else {
                throw new ProtocolException(Reason.CERTIFICATE, "cluster trust file holds an unexpected certificate "
                        + Certificates.describe(c) + "; it must hold exactly the CA and the policy-signing certificate");
            }
        }
        if (ca == null || ps == null) {
            throw new ProtocolException(Reason.CERTIFICATE,
                    "cluster trust file must hold the CA and the policy-signing certificate");
        }
        return of(ca, ps);
    }

    public void save(Path file) throws IOException {
        Certificates.write(file, List.of(ca, policySigner));
    }

    public static ClusterTrust load(Path file) throws IOException, ProtocolException {
        return fromPem(java.nio.file.Files.readString(file));
    }
}
