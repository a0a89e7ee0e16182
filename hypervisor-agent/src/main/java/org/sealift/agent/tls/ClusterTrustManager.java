package org.sealift.agent.tls;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Role;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trusts exactly the cluster CA, and of its certificates only the roles this connection is for (operators on the
 * management API, agents on the agent channel), optionally only one named peer. The JDK's PKIX checks (key usage,
 * extended key usage, basic constraints) run after Sealift's own, which name the problem and the fix.
 *
 * <p>It is an {@link X509ExtendedTrustManager} on purpose: JSSE then leaves endpoint identification to it, and
 * Sealift identifies peers by the host id in their certificate (checked against {@code expectedPeer}), not by a DNS
 * name or an address, since agents are reached by IP on migration networks and labs.
 */
public final class ClusterTrustManager extends X509ExtendedTrustManager {

    private static final Logger LOG = LoggerFactory.getLogger(ClusterTrustManager.class);

    private final X509Certificate clusterCa;
    private final Set<Role> accepted;
    private final String purpose;
    private final String expectedPeer;
    private final Clock clock;
    private final Consumer<PeerRefusedException> onRefusal;
    private final X509ExtendedTrustManager pkix;

    /**
     * @param purpose      for messages: "the management API", "the agent channel"
     * @param expectedPeer the CN the peer must have (a host id), or null for any peer with an accepted role
     * @param onRefusal    told about every refused peer (the server side logs it; tests look at it)
     */
    public ClusterTrustManager(X509Certificate clusterCa, Set<Role> accepted, String purpose, String expectedPeer,
            Clock clock, Consumer<PeerRefusedException> onRefusal) {
        this.clusterCa = Objects.requireNonNull(clusterCa, "clusterCa");
        this.accepted = Set.copyOf(accepted);
        this.purpose = Objects.requireNonNull(purpose, "purpose");
        this.expectedPeer = expectedPeer;
        this.clock = Objects.requireNonNull(clock, "clock");
        this.onRefusal = onRefusal == null ? e -> { } : onRefusal;
        this.pkix = pkixOver(clusterCa);
    }

    private static X509ExtendedTrustManager pkixOver(X509Certificate ca) {
        try {
            KeyStore anchors = KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            anchors.setCertificateEntry("sealift-cluster-ca", ca);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(anchors);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("the JDK offers no X509ExtendedTrustManager for PKIX");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot set up PKIX validation over the cluster CA: " + e.getMessage(), e);
        }
    }

    /** Runs every check on a peer chain; the identity if accepted. */
    public PeerIdentity verify(X509Certificate[] chain, String authType, boolean peerIsClient)
            throws PeerRefusedException {
        try {
            if (chain == null || chain.length == 0) {
                throw new PeerRefusedException(PeerRefusedException.Problem.NO_CERTIFICATE, "the peer presented no"
                        + " certificate, but " + purpose + " requires mutual TLS with a certificate from this"
                        + " cluster's CA " + Certificates.describe(clusterCa) + "; "
                        + (accepted.contains(Role.OPERATOR)
                                ? "pass an operator certificate and key (sealift ca enroll --operator NAME)"
                                : "configure the agent's TLS certificate (sealift ca enroll --host ID)"));
            }
            PeerIdentity id = PeerCertificates.check(chain[0], clusterCa, accepted, purpose, clock.instant());
            if (expectedPeer != null && !expectedPeer.equals(id.name())) {
                throw new PeerRefusedException(PeerRefusedException.Problem.WRONG_HOST, "expected " + expectedPeer
                        + " on " + purpose + " but the peer is " + id.describe() + "; check the address configured"
                        + " for " + expectedPeer);
            }
            try {
                if (peerIsClient) {
                    pkix.checkClientTrusted(chain, authType);
                } else {
                    pkix.checkServerTrusted(chain, authType);
                }
            } catch (CertificateException e) {
                throw new PeerRefusedException(PeerRefusedException.Problem.INVALID, "certificate "
                        + Certificates.describe(chain[0]) + " failed the TLS certificate checks for " + purpose + ": "
                        + e.getMessage() + "; reissue it with 'sealift ca enroll'", e);
            }
            return id;
        } catch (PeerRefusedException e) {
            LOG.warn("refused a peer on {}: {}", purpose, e.getMessage());
            onRefusal.accept(e);
            throw e;
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, authType, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, authType, false);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain, authType, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain, authType, false);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain, authType, true);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain, authType, false);
    }

    /** Only the cluster CA: servers send it as the acceptable issuer, so clients pick the right certificate. */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[] {clusterCa};
    }
}
