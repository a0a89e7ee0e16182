package org.sealift.agent.tls;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.sealift.protocol.AttestationSigner;
import org.sealift.protocol.pki.AkCsr;
import org.sealift.protocol.pki.ClusterCa;
import org.sealift.protocol.pki.EndorsementKey;
import org.sealift.protocol.pki.VendorRoot;

/** A cluster CA in memory with helpers that issue the certificates the TLS and API tests present. */
public final class TestCluster {

    public final ClusterCa ca;
    public final Instant now = Instant.now();
    public final Clock clock = Clock.systemUTC();

    public TestCluster(String name) {
        ca = ClusterCa.create(name, now.minus(Duration.ofDays(30)), Duration.ofDays(400));
    }

    public static KeyPair ed25519() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public TlsCredentials agent(String hostId) throws Exception {
        KeyPair kp = ed25519();
        X509Certificate c = ca.issueAgentTlsCertificate(hostId, kp.getPublic(), now.minusSeconds(60),
                Duration.ofDays(30));
        return TlsCredentials.of(List.of(c), kp.getPrivate(), ca.certificate(), clock);
    }

    public TlsCredentials operator(String name) throws Exception {
        KeyPair kp = ed25519();
        X509Certificate c = ca.issueOperatorCertificate(name, kp.getPublic(), now.minusSeconds(60),
                Duration.ofDays(30));
        return TlsCredentials.of(List.of(c), kp.getPrivate(), ca.certificate(), clock);
    }

    /**
     * An operator certificate that expired yesterday. Loading it through {@link TlsCredentials#of} with the real
     * clock would refuse it, so it is wrapped with a clock from when it was still valid: the peer must refuse it.
     */
    public TlsCredentials expiredOperator(String name) throws Exception {
        KeyPair kp = ed25519();
        Instant issued = now.minus(Duration.ofDays(10));
        X509Certificate c = ca.issueOperatorCertificate(name, kp.getPublic(), issued, Duration.ofDays(9));
        return TlsCredentials.of(List.of(c), kp.getPrivate(), ca.certificate(),
                Clock.fixed(issued.plus(Duration.ofDays(1)), java.time.ZoneOffset.UTC));
    }

    /** Same as {@link #expiredOperator} for an agent certificate. */
    public TlsCredentials expiredAgent(String hostId) throws Exception {
        KeyPair kp = ed25519();
        Instant issued = now.minus(Duration.ofDays(10));
        X509Certificate c = ca.issueAgentTlsCertificate(hostId, kp.getPublic(), issued, Duration.ofDays(9));
        return TlsCredentials.of(List.of(c), kp.getPrivate(), ca.certificate(),
                Clock.fixed(issued.plus(Duration.ofDays(1)), java.time.ZoneOffset.UTC));
    }

    /** An attestation-key certificate issued through real endorsement, with its key as if it had leaked to dom0. */
    public TlsCredentials attestationKey(String hostId) throws Exception {
        VendorRoot vendor = VendorRoot.create("test-vendor", now.minus(Duration.ofDays(1)), Duration.ofDays(100));
        ca.trustVendorRoot(vendor.certificate());
        EndorsementKey ek = vendor.manufacture(hostId, now.minus(Duration.ofDays(1)), Duration.ofDays(100));
        KeyPair ak = ed25519();
        AkCsr csr = AkCsr.create(AttestationSigner.of(ak), hostId, new byte[32]);
        X509Certificate c = ca.issueAkCertificate(ek.endorse(csr), now.minusSeconds(60), Duration.ofDays(30));
        return TlsCredentials.of(List.of(c), ak.getPrivate(), ca.certificate(), clock);
    }
}
