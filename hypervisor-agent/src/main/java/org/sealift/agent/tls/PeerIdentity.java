package org.sealift.agent.tls;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import org.sealift.protocol.pki.Certificates;
import org.sealift.protocol.pki.Role;

/**
 * Who is on the other end of a verified TLS connection: an agent (its host id) or an operator (a person or the
 * console). Only built from a certificate that {@link PeerCertificates#check} accepted.
 */
public record PeerIdentity(Role role, String name, X509Certificate certificate) {

    public PeerIdentity {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(certificate, "certificate");
    }

    /** "agent h2" / "operator alice", for logs and messages. */
    public String describe() {
        return (role == Role.AGENT_TLS ? "agent " : role == Role.OPERATOR ? "operator " : role.label() + " ") + name;
    }

    /**
     * The identity of an established session's peer. The trust manager already refused anything else; this reads the
     * role again so that callers never have to trust a session they did not configure.
     */
    public static Optional<PeerIdentity> of(SSLSession session) {
        try {
            Certificate[] certs = session.getPeerCertificates();
            if (certs.length == 0 || !(certs[0] instanceof X509Certificate leaf)) {
                return Optional.empty();
            }
            return Certificates.role(leaf).map(r -> new PeerIdentity(r, Certificates.subjectCn(leaf), leaf));
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }
}
