package org.sealift.protocol.pki;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

import org.sealift.protocol.ProtocolException;
import org.sealift.protocol.ProtocolException.Reason;

/**
 * Decides whether a presented AK certificate chain identifies a trusted hypervisor: the handshake calls this for the
 * peer, the log verifier for each record's signers. Checks, in order: a chain is present (UNATTESTED); the leaf is
 * issued and signed by this cluster's CA, and any further chain element is that CA (CERTIFICATE); leaf and CA are
 * valid at {@code now} (CERTIFICATE); the leaf's role is attestation-key with the matching EKU, not a CA, Ed25519
 * (CERTIFICATE); it carries a measurement (UNATTESTED); the policy is valid at {@code now}, the AK is not revoked
 * and the measurement is allowed (POLICY).
 */
public final class AkValidator {

    private final ClusterTrust trust;

    public AkValidator(ClusterTrust trust) {
        this.trust = Objects.requireNonNull(trust, "trust");
    }

    /** Validates against the store's current policy (POLICY if none is installed or it has expired). */
    public AttestedIdentity validate(List<X509Certificate> chain, PolicyStore policies, Instant now)
            throws ProtocolException {
        return validate(chain, policies.current(now), now);
    }

    /** For chains received as DER (the handshake's wire form). */
    public AttestedIdentity validateEncoded(List<byte[]> derChain, PolicyStore policies, Instant now)
            throws ProtocolException {
        return validate(Certificates.parseChain(derChain), policies.current(now), now);
    }

    public AttestedIdentity validate(List<X509Certificate> chain, Policy policy, Instant now)
            throws ProtocolException {
        X509Certificate leaf = validateCertificate(chain, now);
        policy.checkValidAt(now);
        return applyPolicy(leaf, policy);
    }

    /**
     * For offline verification of a signature made in the past (attestation records): the certificate checks at
     * {@code signedAt}, then the policy's revocations and measurements as they are now, without the policy's own
     * validity period (a policy issued later still judges older records; a fence revokes the AK for good).
     */
    public AttestedIdentity validateHistorical(List<X509Certificate> chain, Policy policy, Instant signedAt)
            throws ProtocolException {
        return applyPolicy(validateCertificate(chain, signedAt), policy);
    }

    /**
     * For the signers of attestation records and log heads: a hypervisor AK exactly as {@link #validateHistorical},
     * or a dom0-held record signer ({@link Dom0Signer}) whose host the policy explicitly allows
     * ({@link Policy#allowsDom0Signer}); the result's {@link AttestedIdentity#dom0Held()} says which. Never use this
     * where an AK is required (handshakes, tokens): {@link #validate} refuses dom0 signers there.
     */
    public AttestedIdentity validateRecordSigner(List<X509Certificate> chain, Policy policy, Instant signedAt)
            throws ProtocolException {
        X509Certificate leaf = validateChainToCa(chain, signedAt);
        if (Certificates.role(leaf).orElse(null) != Role.DOM0_SIGNER) {
            return applyPolicy(checkAttestationProfile(leaf), policy);
        }
        String who = "certificate " + Certificates.describe(leaf);
        String problem = Dom0Signer.profileProblem(leaf);
        if (problem != null) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " claims the dom0-signer role but " + problem
                    + "; it was not issued by Sealift's CA tooling");
        }
        String host = Certificates.subjectCn(leaf);
        if (!Certificates.isValidHostId(host)) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " does not name a valid host id in its CN");
        }
        byte[] fp = Certificates.fingerprint(leaf);
        if (policy.isRevoked(fp)) {
            throw new ProtocolException(Reason.POLICY, "host " + host + "'s dom0-held signer " + Hex.abbrev(fp)
                    + " is revoked by " + policy.describe());
        }
        if (!policy.allowsDom0Signer(host)) {
            throw new ProtocolException(Reason.POLICY, "host " + host + " signs with a dom0-held key (not"
                    + " hypervisor-protected), and " + policy.describe() + " does not accept dom0 signers for it;"
                    + " if records of what its agent did are wanted, allow it explicitly: sealift ca sign-policy"
                    + " --allow-dom0-signer " + host);
        }
        return new AttestedIdentity(host, leaf, new byte[Certificates.MEASUREMENT_BYTES], null, policy.serial(), true);
    }

    private AttestedIdentity applyPolicy(X509Certificate leaf, Policy policy) throws ProtocolException {
        String host = Certificates.subjectCn(leaf);
        byte[] measurement = Certificates.measurement(leaf).orElseThrow();
        byte[] fp = Certificates.fingerprint(leaf);
        if (policy.isRevoked(fp)) {
            throw new ProtocolException(Reason.POLICY, "host " + host + " is not attested: its AK " + Hex.abbrev(fp)
                    + " is revoked by " + policy.describe() + " (fenced); the host needs a new AK certificate");
        }
        if (!policy.allowsMeasurement(measurement)) {
            throw new ProtocolException(Reason.POLICY, "host " + host + " is not attested: measurement "
                    + Hex.abbrev(measurement) + " is not in " + policy.describe()
                    + "; update the hypervisor or add the measurement to a new policy");
        }
        return new AttestedIdentity(host, leaf, measurement, policy.measurementName(measurement).orElse(null),
                policy.serial());
    }

    /**
     * Only the certificate checks (no policy): chain to this CA, validity, role, measurement present. Returns the
     * leaf. Used where the policy is applied separately.
     */
    public X509Certificate validateCertificate(List<X509Certificate> chain, Instant now) throws ProtocolException {
        return checkAttestationProfile(validateChainToCa(chain, now));
    }

    /** Chain to this cluster's CA, signature and validity at {@code now}; no role check. Returns the leaf. */
    private X509Certificate validateChainToCa(List<X509Certificate> chain, Instant now) throws ProtocolException {
        if (chain == null || chain.isEmpty()) {
            throw new ProtocolException(Reason.UNATTESTED,
                    "no attestation-key certificate was presented: the peer is not attested");
        }
        if (chain.size() > Certificates.MAX_CHAIN_LENGTH) {
            throw new ProtocolException(Reason.MALFORMED, "certificate chain has " + chain.size() + " entries, limit "
                    + Certificates.MAX_CHAIN_LENGTH);
        }
        X509Certificate ca = trust.caCertificate();
        X509Certificate leaf = chain.get(0);
        String who = "certificate " + Certificates.describe(leaf);
        for (int i = 1; i < chain.size(); i++) {
            if (!Chains.sameCertificate(chain.get(i), ca)) {
                throw new ProtocolException(Reason.CERTIFICATE, "the chain of " + who + " contains "
                        + Certificates.describe(chain.get(i)) + ", which is not cluster CA " + trust.describe()
                        + " (foreign CA)");
            }
        }
        if (!leaf.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " is issued by "
                    + leaf.getIssuerX500Principal().getName() + ", not by cluster CA " + trust.describe()
                    + " (foreign CA)");
        }
        if (!Chains.signedBy(leaf, ca)) {
            throw new ProtocolException(Reason.CERTIFICATE, "the signature on " + who + " does not verify with cluster CA "
                    + trust.describe() + " (forged or altered certificate, or a foreign CA with the same name)");
        }
        String caValidity = Chains.validityProblem(ca, now);
        if (caValidity != null) {
            throw new ProtocolException(Reason.CERTIFICATE, "cluster CA certificate " + trust.describe() + " "
                    + caValidity + "; renew the CA");
        }
        String validity = Chains.validityProblem(leaf, now);
        if (validity != null) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " " + validity
                    + "; the host needs a new AK certificate from the cluster CA");
        }
        return leaf;
    }

    /** Role attestation-key with its EKU, not a CA, Ed25519, a host id CN and a measurement. */
    private static X509Certificate checkAttestationProfile(X509Certificate leaf) throws ProtocolException {
        String who = "certificate " + Certificates.describe(leaf);
        Role role = Certificates.role(leaf).orElse(null);
        if (role != Role.ATTESTATION_KEY) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " is "
                    + (role == null ? "not a Sealift role certificate" : role.description())
                    + ", not an attestation-key certificate");
        }
        if (!hasAttestationEku(leaf) || Chains.isCa(leaf)) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " claims the attestation-key role but lacks its"
                    + " extended key usage or is a CA certificate; it was not issued by Sealift's CA tooling");
        }
        if (!Ed25519.isEd25519(leaf.getPublicKey())) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " does not hold an Ed25519 attestation key");
        }
        if (!Certificates.isValidHostId(Certificates.subjectCn(leaf))) {
            throw new ProtocolException(Reason.CERTIFICATE, who + " does not name a valid host id in its CN");
        }
        if (Certificates.measurement(leaf).isEmpty()) {
            throw new ProtocolException(Reason.UNATTESTED, who
                    + " carries no hypervisor measurement: it was not issued from an endorsed AK CSR");
        }
        return leaf;
    }

    private static boolean hasAttestationEku(X509Certificate cert) {
        try {
            List<String> eku = cert.getExtendedKeyUsage();
            return eku != null && eku.contains(SealiftOids.KP_ATTESTATION.getId());
        } catch (CertificateParsingException e) {
            return false;
        }
    }
}
