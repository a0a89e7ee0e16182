package org.sealift.console.core.settings;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

import org.sealift.protocol.pki.ClusterTrust;
import org.sealift.protocol.pki.Policy;

/**
 * What an offline verifier needs (docs/protocol-attestation.md §8.3): the cluster trust anchor, the policy (already
 * verified with the trust anchor's policy key) and the hosts' AK certificates.
 */
public record TrustMaterial(ClusterTrust trust, Policy policy, List<X509Certificate> akCertificates) {

    public TrustMaterial {
        Objects.requireNonNull(trust, "trust");
        Objects.requireNonNull(policy, "policy");
        akCertificates = List.copyOf(akCertificates);
    }
}
