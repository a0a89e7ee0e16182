package org.sealift.protocol.pki;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import org.bouncycastle.asn1.x500.X500Name;
import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * The cluster CA as a library (the {@code sealift ca} commands call this). Two Ed25519 keys: the certificate key
 * (self-signed CA certificate; signs AK, agent TLS and operator certificates) and the policy key (certified by the CA
 * as policy signer; signs policies and fences), so a leak of one does not give the other's power.
 *
 * <p>The CA signs an AK certificate only for an {@link AkEnrollment} whose CSR is endorsed by the host's endorsement
 * key with a chain to a trusted vendor root ({@link #trustVendorRoot}), and binds host id and measurement into it.
 *
 * <p>Directory layout ({@link #save}): {@code ca.crt}, {@code ca.key} (0600), {@code policy-signer.crt},
 * {@code policy.key} (0600), {@code cluster-trust.pem} (what verifiers need), {@code vendor-roots.crt}.
 */
public final class ClusterCa {

    public static final String CA_CERT_FILE = "ca.crt";
    public static final String CA_KEY_FILE = "ca.key";
    public static final String POLICY_CERT_FILE = "policy-signer.crt";
    public static final String POLICY_KEY_FILE = "policy.key";
    public static final String VENDOR_ROOTS_FILE = "vendor-roots.crt";

    private static final String NOT_ENDORSED_FIX = "; the CSR must be signed by the host's endorsement key certified"
            + " by a trusted vendor root";

    private final X509Certificate caCert;
    private final PrivateKey caKey;
    private final X509Certificate policyCert;
    private final PrivateKey policyKey;
    private final ClusterTrust trust;
    private final List<X509Certificate> vendorRoots = new ArrayList<>();

    private ClusterCa(X509Certificate caCert, PrivateKey caKey, X509Certificate policyCert, PrivateKey policyKey,
            List<X509Certificate> vendorRoots) throws ProtocolException {
        this.caCert = caCert;
        this.caKey = caKey;
        this.policyCert = policyCert;
        this.policyKey = policyKey;
        this.trust = ClusterTrust.of(caCert, policyCert);
        this.vendorRoots.addAll(vendorRoots);
    }

    /** A new cluster CA named {@code clusterName} (the CA certificate's CN). */
    public static ClusterCa create(String clusterName, Instant now, Duration validity) {
        Objects.requireNonNull(clusterName, "clusterName");
        KeyPair ca = Ed25519.generate();
        KeyPair policy = Ed25519.generate();
        X500Name caName = CertIssuer.name(clusterName, null);
        Instant end = now.plus(validity);
        X509Certificate caCert = CertIssuer.issue(caName, ca.getPrivate(), caName, ca.getPublic(), now, end,
                Role.CLUSTER_CA, null, null);
        X509Certificate policyCert = CertIssuer.issue(caName, ca.getPrivate(),
                CertIssuer.name(clusterName + " policy", null), policy.getPublic(), now, end, Role.POLICY_SIGNER, null,
                null);
        try {
            return new ClusterCa(caCert, ca.getPrivate(), policyCert, policy.getPrivate(), List.of());
        } catch (ProtocolException e) {
            throw new IllegalStateException("freshly built CA does not verify: " + e.getMessage(), e);
        }
    }

    public X509Certificate certificate() {
        return caCert;
    }

    /** The CA and policy-signer certificates: what hypervisors, agents and offline verifiers trust. */
    public ClusterTrust trust() {
        return trust;
    }

    /** Endorsement chains must end at one of these vendor roots. */
    public synchronized void trustVendorRoot(X509Certificate root) throws ProtocolException {
        if (Certificates.role(root).orElse(null) != Role.VENDOR_ROOT || !Chains.signedBy(root, root)) {
            throw new ProtocolException(Reason.CERTIFICATE, "certificate " + Certificates.describe(root)
                    + " is not a self-signed vendor root certificate");
        }
        for (X509Certificate r : vendorRoots) {
            if (Chains.sameCertificate(r, root)) {
                return;
            }
        }
        vendorRoots.add(root);
    }

    public synchronized List<X509Certificate> vendorRoots() {
        return List.copyOf(vendorRoots);
    }

    /**
     * Issues an AK certificate for an endorsed CSR: CN and SAN URI {@code urn:sealift:host:<id>} = host id,
     * {@link SealiftOids#MEASUREMENT} = the CSR's measurement, role attestation-key, EKU {@link
     * SealiftOids#KP_ATTESTATION}. UNATTESTED unless the CSR is signed by the AK, the EK signature over the CSR
     * verifies, and the EK certificate is for the same host and chains to a trusted vendor root at {@code now}.
     */
    public X509Certificate issueAkCertificate(AkEnrollment enrollment, Instant now, Duration validity)
            throws ProtocolException {
        AkCsr csr = enrollment.csr();
        String host = csr.hostId();
        String refusal = "AK CSR for host " + host + " is not endorsed: ";
        csr.checkProofOfPossession();
        List<X509Certificate> chain = enrollment.ekChain();
        if (chain.isEmpty()) {
            throw new ProtocolException(Reason.UNATTESTED, refusal + "no endorsement-key certificate came with it"
                    + NOT_ENDORSED_FIX);
        }
        X509Certificate ek = chain.get(0);
        Role ekRole = Certificates.role(ek).orElse(null);
        if (ekRole != Role.ENDORSEMENT_KEY) {
            throw new ProtocolException(Reason.UNATTESTED, refusal + "certificate " + Certificates.describe(ek) + " is "
                    + (ekRole == null ? "not a Sealift certificate" : ekRole.description())
                    + ", not an endorsement-key certificate" + NOT_ENDORSED_FIX);
        }
        checkVendorChain(chain, now, refusal);
        String ekHost = Certificates.subjectCn(ek);
        if (!ekHost.equals(host)) {
            throw new ProtocolException(Reason.UNATTESTED, refusal + "the endorsement key belongs to host " + ekHost
                    + ", not " + host + NOT_ENDORSED_FIX);
        }
        byte[] sig = enrollment.ekSignature();
        if (sig.length == 0) {
            throw new ProtocolException(Reason.UNATTESTED, refusal + "it carries no EK signature" + NOT_ENDORSED_FIX);
        }
        if (!Ed25519.verify(ek.getPublicKey(), EndorsementKey.endorsementMessage(csr.encoded()), sig)) {
            throw new ProtocolException(Reason.UNATTESTED, refusal + "the EK signature over the CSR does not verify"
                    + " with the endorsement key of " + Certificates.describe(ek) + NOT_ENDORSED_FIX);
        }
        return CertIssuer.issue(CertIssuer.nameOf(caCert), caKey, CertIssuer.name(host, null), csr.publicKey(), now,
                capped(now, validity), Role.ATTESTATION_KEY, CertIssuer.hostNames(host, false), csr.measurement());
    }

    private void checkVendorChain(List<X509Certificate> chain, Instant now, String refusal)
            throws ProtocolException {
        List<X509Certificate> roots = vendorRoots();
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate c = chain.get(i);
            String validity = Chains.validityProblem(c, now);
            if (validity != null) {
                throw new ProtocolException(Reason.UNATTESTED, refusal + "certificate " + Certificates.describe(c)
                        + " in the endorsement chain " + validity + NOT_ENDORSED_FIX);
            }
            for (X509Certificate root : roots) {
                if (Chains.sameCertificate(c, root) || Chains.signedBy(c, root)) {
                    return;
                }
            }
            boolean nextIssues = i + 1 < chain.size() && Chains.isCa(chain.get(i + 1))
                    && Certificates.role(chain.get(i + 1)).orElse(null) == Role.VENDOR_ROOT
                    && Chains.signedBy(c, chain.get(i + 1));
            if (!nextIssues && i > 0 && Chains.signedBy(c, c)) {
                throw new ProtocolException(Reason.UNATTESTED, refusal + "the endorsement chain of "
                        + Certificates.describe(chain.get(0)) + " ends at " + Certificates.describe(c)
                        + ", which is not a trusted vendor root" + NOT_ENDORSED_FIX);
            }
            if (!nextIssues) {
                throw new ProtocolException(Reason.UNATTESTED, refusal + "certificate " + Certificates.describe(c)
                        + " is issued by " + c.getIssuerX500Principal().getName()
                        + ", which is not a trusted vendor root" + NOT_ENDORSED_FIX);
            }
        }
        throw new ProtocolException(Reason.UNATTESTED, refusal + "the endorsement chain does not reach a trusted"
                + " vendor root" + NOT_ENDORSED_FIX);
    }

    /**
     * Certifies an agent's dom0-held record-signing key (see {@link Dom0Signer}) for a host whose hypervisor cannot
     * hold an attestation key. The certificate has role dom0-signer, EKU {@link SealiftOids#KP_DOM0_RECORD_SIGNING},
     * the critical {@link SealiftOids#DOM0_HELD_KEY} statement and no measurement, so it is refused wherever an AK is
     * required. Callers (the CLI) issue it only on the operator's explicit request. MALFORMED / TAMPERED /
     * CERTIFICATE if the CSR is not the agent's self-signed dom0 signer request for {@code hostId}.
     */
    public X509Certificate issueDom0SignerCertificate(String hostId, byte[] pkcs10Der, Instant now,
            Duration validity) throws ProtocolException {
        Certificates.requireHostId(hostId);
        PublicKey key = Dom0Signer.verifiedCsrKey(pkcs10Der, hostId);
        return CertIssuer.issue(CertIssuer.nameOf(caCert), caKey, CertIssuer.name(hostId, null), key, now,
                capped(now, validity), Role.DOM0_SIGNER, CertIssuer.hostNames(hostId, false), null);
    }

    /** An agent's TLS certificate (EKU serverAuth + clientAuth, role agent-tls): never valid for attestation. */
    public X509Certificate issueAgentTlsCertificate(String hostId, PublicKey key, Instant now, Duration validity) {
        Certificates.requireHostId(hostId);
        return CertIssuer.issue(CertIssuer.nameOf(caCert), caKey, CertIssuer.name(hostId, null), key, now,
                capped(now, validity), Role.AGENT_TLS, CertIssuer.hostNames(hostId, true), null);
    }

    /**
     * The same for a key that stays with the agent: {@code pkcs10Der} is the agent's CSR (any key type the JDK
     * verifies: Ed25519, EC, RSA), which must be signed by its own key. The CSR's subject is ignored; the
     * certificate names {@code hostId}. MALFORMED / TAMPERED if the CSR is not a valid self-signed request.
     */
    public X509Certificate issueAgentTlsCertificate(String hostId, byte[] pkcs10Der, Instant now,
            Duration validity) throws ProtocolException {
        return issueAgentTlsCertificate(hostId, Csrs.verifiedPublicKey(pkcs10Der, "TLS CSR for host " + hostId),
                now, validity);
    }

    /** An operator's client certificate from the operator's CSR (see the TLS variant). */
    public X509Certificate issueOperatorCertificate(String operatorName, byte[] pkcs10Der, Instant now,
            Duration validity) throws ProtocolException {
        return issueOperatorCertificate(operatorName,
                Csrs.verifiedPublicKey(pkcs10Der, "operator CSR for " + operatorName), now, validity);
    }

    /** An operator's client certificate for the console / CLI (EKU clientAuth, role operator). */
    public X509Certificate issueOperatorCertificate(String operatorName, PublicKey key, Instant now,
            Duration validity) {
        Objects.requireNonNull(operatorName, "operatorName");
        return CertIssuer.issue(CertIssuer.nameOf(caCert), caKey, CertIssuer.name(operatorName, null), key, now,
                capped(now, validity), Role.OPERATOR, null, null);
    }

    /** Signs a policy with the policy key. */
    public SignedPolicy signPolicy(Policy policy) {
        return SignedPolicy.sign(policy, policyKey);
    }

    /**
     * Fences a migration whose peer is lost for good (see docs/protocol-attestation.md, "Fences"): signs the fence
     * and a new policy = {@code current} with serial + 1 and the lost AK revoked. A fence is a trusted override
     * outside the single-instance guarantee; the caller (CLI) must make the operator confirm that.
     */
    public FenceBundle issueFence(byte[] migrationId, byte[] manifestDigest, byte[] lostAkFingerprint,
            Policy current) {
        Fence unsigned = Fence.unsigned(migrationId, manifestDigest, lostAkFingerprint);
        Fence fence = unsigned.withSignature(Ed25519.sign(policyKey, unsigned.signedMessage()));
        Policy next = current.toBuilder().serial(current.serial() + 1).revoke(lostAkFingerprint).build();
        return new FenceBundle(fence, signPolicy(next));
    }

    private Instant capped(Instant now, Duration validity) {
        // a leaf outliving its CA would fail validation later anyway; fail early instead
        Instant end = now.plus(validity);
        Instant caEnd = caCert.getNotAfter().toInstant();
        if (end.isAfter(caEnd)) {
            throw new IllegalArgumentException("requested validity ends " + end + ", after the CA certificate ("
                    + caEnd + "); shorten it or renew the CA");
        }
        return end;
    }

    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Certificates.write(dir.resolve(CA_CERT_FILE), List.of(caCert));
        Pem.writePrivateKey(dir.resolve(CA_KEY_FILE), caKey);
        Certificates.write(dir.resolve(POLICY_CERT_FILE), List.of(policyCert));
        Pem.writePrivateKey(dir.resolve(POLICY_KEY_FILE), policyKey);
        trust.save(dir.resolve(ClusterTrust.TRUST_FILE));
        Pem.write(dir.resolve(VENDOR_ROOTS_FILE), Pem.decode(Certificates.toPem(vendorRoots())));
    }

    public static ClusterCa load(Path dir) throws IOException, ProtocolException {
        X509Certificate caCert = Certificates.read(dir.resolve(CA_CERT_FILE)).get(0);
        X509Certificate policyCert = Certificates.read(dir.resolve(POLICY_CERT_FILE)).get(0);
        PrivateKey caKey = Pem.readPrivateKey(dir.resolve(CA_KEY_FILE));
        PrivateKey policyKey = Pem.readPrivateKey(dir.resolve(POLICY_KEY_FILE));
        List<X509Certificate> roots = Files.exists(dir.resolve(VENDOR_ROOTS_FILE))
                ? Certificates.fromPem(Files.readString(dir.resolve(VENDOR_ROOTS_FILE)))
                : List.of();
        requireMatch(caKey, caCert.getPublicKey(), dir.resolve(CA_KEY_FILE));
        requireMatch(policyKey, policyCert.getPublicKey(), dir.resolve(POLICY_KEY_FILE));
        ClusterCa ca = new ClusterCa(caCert, caKey, policyCert, policyKey, List.of());
        for (X509Certificate r : roots) {
            ca.trustVendorRoot(r);
        }
        return ca;
    }

    private static void requireMatch(PrivateKey key, PublicKey pub, Path file) throws IOException {
        byte[] probe = "sealift key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (!Ed25519.verify(pub, probe, Ed25519.sign(key, probe))) {
            throw new IOException(file + " does not belong to the certificate next to it");
        }
    }
}
